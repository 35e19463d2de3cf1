/* json.h - a growing byte buffer, JSON string escaping and base64 for the forwarder. */
#ifndef CREDSYNC_FORWARDER_JSON_H
#define CREDSYNC_FORWARDER_JSON_H

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static inline void buf_add(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (cap < b->len + n + 1) cap *= 2;
        grown = realloc(b->data, cap);
        if (!grown) abort(); /* a console service out of memory: let it restart */
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static inline void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static inline void buf_free(Buf *b)
{
    if (b->data) {
        memset(b->data, 0, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

/* A JSON string of n bytes of UTF-8 (quotes included). */
static inline void buf_json(Buf *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_add(b, e, 2);
        } else if (c == '\n') {
            buf_add(b, "\\n", 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
            buf_add(b, e, 6);
        } else {
            buf_add(b, (const char *)&c, 1);
        }
    }
    buf_add(b, "\"", 1);
}

static inline void buf_base64(Buf *b, const unsigned char *in, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        char o[4];
        if (i + 1 < n) v |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        o[0] = t[v >> 18];
        o[1] = t[(v >> 12) & 63];
        o[2] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        o[3] = i + 2 < n ? t[v & 63] : '=';
        buf_add(b, o, 4);
    }
}

/* base64url without padding -> bytes; the number of bytes, or (size_t)-1 on bad input. */
static inline size_t b64url_decode(const char *s, unsigned char *out, size_t cap)
{
    unsigned long acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s; s++) {
        int v;
        char c = *s;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else return (size_t)-1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) return (size_t)-1;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

#endif
