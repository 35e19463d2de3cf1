/* trustca.c - tests only: add a DER certificate to the machine's Root store (the test server's
 * CA, so WinHTTP in a Wine prefix trusts it as a DC would trust the operator's CA).
 * usage: trustca.exe CA.der */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <wincrypt.h>
#include <stdio.h>

int wmain(int argc, WCHAR **argv)
{
    BYTE buf[16384];
    DWORD n = 0;
    HANDLE f;
    HCERTSTORE store;
    BOOL ok;
    if (argc != 2) return 2;
    f = CreateFileW(argv[1], GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (f == INVALID_HANDLE_VALUE || !ReadFile(f, buf, sizeof(buf), &n, NULL)) return 2;
    CloseHandle(f);
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_LOCAL_MACHINE, L"Root");
    ok = store && CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, buf, n,
                                                   CERT_STORE_ADD_REPLACE_EXISTING, NULL);
    if (store) CertCloseStore(store, 0);
    printf(ok ? "trusted\n" : "failed\n");
    return ok ? 0 : 1;
}
