"""What tests, benchmarks and demos share: throwaway servers and vault fixtures.

Nothing here is used by the product at run time.
"""
