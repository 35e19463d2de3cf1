/*
 * seal.c - the capture format of the credsync password filter: x25519-hkdf-sha256+a256gcm.
 *
 * To the directory's capture key (the X25519 public key of its Cv25519 encryption subkey):
 *   eph    = a fresh X25519 key pair (32 random bytes from BCryptGenRandom)
 *   shared = X25519(eph, recipient)                           (all-zero: refused)
 *   key    = HKDF-SHA256(salt none, ikm shared,
 *                        info "credsync-capture x25519-hkdf-sha256+a256gcm v1" || eph_pub || recipient)
 *   sealed = eph_pub (32) || nonce (12, random) || AES-256-GCM(key, nonce, plaintext, aad) || tag (16)
 * which is exactly what the vault opens (credsync.crypto.openpgp.CaptureDecryptor.decrypt_x25519).
 *
 * X25519 is Monocypher's (vendored, windows/vendor/monocypher); HMAC-SHA256, AES-256-GCM and the
 * random numbers are Windows CNG (bcrypt.dll), which Wine 8 implements as well.
 */
#include "seal.h"

#include <bcrypt.h>

#include "../vendor/monocypher/monocypher.h"

#ifndef NT_SUCCESS
#define NT_SUCCESS(s) (((NTSTATUS)(s)) >= 0)
#endif

static const char kInfo[] = "credsync-capture x25519-hkdf-sha256+a256gcm v1";

static BCRYPT_ALG_HANDLE g_hmac;
static BCRYPT_ALG_HANDLE g_aes;

BOOL seal_init(void)
{
    if (!g_hmac && !NT_SUCCESS(BCryptOpenAlgorithmProvider(&g_hmac, BCRYPT_SHA256_ALGORITHM, NULL,
                                                            BCRYPT_ALG_HANDLE_HMAC_FLAG))) {
        g_hmac = NULL;
        return FALSE;
    }
    if (!g_aes) {
        if (!NT_SUCCESS(BCryptOpenAlgorithmProvider(&g_aes, BCRYPT_AES_ALGORITHM, NULL, 0))) {
            g_aes = NULL;
            return FALSE;
        }
        if (!NT_SUCCESS(BCryptSetProperty(g_aes, BCRYPT_CHAINING_MODE, (PUCHAR)BCRYPT_CHAIN_MODE_GCM,
                                          sizeof(BCRYPT_CHAIN_MODE_GCM), 0))) {
            BCryptCloseAlgorithmProvider(g_aes, 0);
            g_aes = NULL;
            return FALSE;
        }
    }
    return TRUE;
}

static BOOL hmac_sha256(const BYTE *key, ULONG key_len, const BYTE *a, ULONG a_len, const BYTE *b,
                        ULONG b_len, BYTE out[32])
{
    BCRYPT_HASH_HANDLE h = NULL;
    BOOL ok = NT_SUCCESS(BCryptCreateHash(g_hmac, &h, NULL, 0, (PUCHAR)key, key_len, 0)) &&
              NT_SUCCESS(BCryptHashData(h, (PUCHAR)a, a_len, 0)) &&
              (b_len == 0 || NT_SUCCESS(BCryptHashData(h, (PUCHAR)b, b_len, 0))) &&
              NT_SUCCESS(BCryptFinishHash(h, out, 32, 0));
    if (h) BCryptDestroyHash(h);
    return ok;
}

static BOOL random_bytes(BYTE *out, ULONG n)
{
    return NT_SUCCESS(BCryptGenRandom(NULL, out, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG));
}

BOOL seal_x25519(const BYTE recipient[SEAL_KEY_LEN], const BYTE *plain, ULONG plain_len,
                 const BYTE *aad, ULONG aad_len, BYTE *out)
{
    BYTE eph[32], eph_pub[32], shared[32], prk[32], okm[32], zero_salt[32] = {0};
    BYTE info[sizeof(kInfo) - 1 + 64 + 1];
    BYTE *nonce = out + SEAL_KEY_LEN;
    BYTE *ct = nonce + SEAL_NONCE_LEN;
    BYTE *tag = ct + plain_len;
    BCRYPT_KEY_HANDLE key = NULL;
    BCRYPT_AUTHENTICATED_CIPHER_MODE_INFO mode;
    ULONG done = 0;
    BOOL ok = FALSE;
    BYTE empty = 0;
    int nonzero = 0;

    if (!g_hmac || !g_aes) return FALSE;
    if (!random_bytes(eph, sizeof(eph)) || !random_bytes(nonce, SEAL_NONCE_LEN)) goto out;
    crypto_x25519_public_key(eph_pub, eph);
    crypto_x25519(shared, eph, recipient);
    for (int i = 0; i < 32; i++) nonzero |= shared[i];
    if (!nonzero) goto out; /* a low-order recipient key: no secret at all */

    /* HKDF-SHA256: PRK = HMAC(salt = 32 zero bytes, shared); OKM = HMAC(PRK, info || 0x01) */
    CopyMemory(info, kInfo, sizeof(kInfo) - 1);
    CopyMemory(info + sizeof(kInfo) - 1, eph_pub, 32);
    CopyMemory(info + sizeof(kInfo) - 1 + 32, recipient, 32);
    info[sizeof(info) - 1] = 0x01;
    if (!hmac_sha256(zero_salt, 32, shared, 32, NULL, 0, prk)) goto out;
    if (!hmac_sha256(prk, 32, info, sizeof(info), NULL, 0, okm)) goto out;

    if (!NT_SUCCESS(BCryptGenerateSymmetricKey(g_aes, &key, NULL, 0, okm, 32, 0))) goto out;
    BCRYPT_INIT_AUTH_MODE_INFO(mode);
    mode.pbNonce = nonce;
    mode.cbNonce = SEAL_NONCE_LEN;
    mode.pbAuthData = (PUCHAR)aad;
    mode.cbAuthData = aad_len;
    mode.pbTag = tag;
    mode.cbTag = SEAL_TAG_LEN;
    /* pbOutput is never NULL, even for an empty password: NULL asks only for the size */
    if (!NT_SUCCESS(BCryptEncrypt(key, plain_len ? (PUCHAR)plain : &empty, plain_len, &mode, NULL,
                                  0, plain_len ? ct : &empty, plain_len, &done, 0)))
        goto out;
    if (done != plain_len) goto out;
    CopyMemory(out, eph_pub, SEAL_KEY_LEN);
    ok = TRUE;
out:
    if (key) BCryptDestroyKey(key);
    SecureZeroMemory(eph, sizeof(eph));
    SecureZeroMemory(shared, sizeof(shared));
    SecureZeroMemory(prk, sizeof(prk));
    SecureZeroMemory(okm, sizeof(okm));
    return ok;
}
