/* seal.h - x25519-hkdf-sha256+a256gcm, the capture format the vault opens (see seal.c). */
#ifndef CREDSYNC_SEAL_H
#define CREDSYNC_SEAL_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_KEY_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN)

/* Open the CNG providers once (not in lsass's calling thread: from the worker). */
BOOL seal_init(void);

/* Seal plain_len bytes to the X25519 public key recipient with associated data aad; out must
 * hold plain_len + SEAL_OVERHEAD bytes. Every secret intermediate is zeroed. */
BOOL seal_x25519(const BYTE recipient[SEAL_KEY_LEN], const BYTE *plain, ULONG plain_len,
                 const BYTE *aad, ULONG aad_len, BYTE *out);

#endif
