/*
 * directory.c - the forwarder's LDAP read of an account on the local DC (wldap32): objectGUID,
 * objectSid, pwdLastSet and userAccountControl by sAMAccountName, over LDAPS (port 636). On a
 * DC it binds as the machine (Negotiate); a bind DN and password are for tests.
 */
#include "forwarder.h" /* windows.h first */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winldap.h>

static LDAP *g_ld;

BOOL dc_connect(void)
{
    ULONG version = LDAP_VERSION3, rc;
    WCHAR host[256];
    if (g_ld) return TRUE;
    MultiByteToWideChar(CP_UTF8, 0, cfg.ldap_host, -1, host, 256);
    g_ld = cfg.ldap_port == 636 ? ldap_sslinitW(host, cfg.ldap_port, 1) : ldap_initW(host, cfg.ldap_port);
    if (!g_ld) return FALSE;
    ldap_set_optionW(g_ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    if (cfg.ldap_bind_dn[0]) {
        WCHAR dn[512], pw[256];
        MultiByteToWideChar(CP_UTF8, 0, cfg.ldap_bind_dn, -1, dn, 512);
        MultiByteToWideChar(CP_UTF8, 0, cfg.ldap_bind_password, -1, pw, 256);
        rc = ldap_simple_bind_sW(g_ld, dn, pw);
        SecureZeroMemory(pw, sizeof(pw));
    } else {
        rc = ldap_bind_sW(g_ld, NULL, NULL, LDAP_AUTH_NEGOTIATE); /* as this machine */
    }
    if (rc != LDAP_SUCCESS) {
        ldap_unbind(g_ld);
        g_ld = NULL;
        log_line("LDAP bind failed");
        return FALSE;
    }
    return TRUE;
}

static void sid_text(const BYTE *s, ULONG len, char *out, size_t cap)
{
    int pos, count = s[1];
    unsigned long long auth = 0;
    if (len < 8 || len < 8u + 4u * (ULONG)count) { out[0] = 0; return; }
    for (int i = 2; i < 8; i++) auth = auth << 8 | s[i];
    pos = snprintf(out, cap, "S-%u-%llu", s[0], auth);
    for (int i = 0; i < count && pos > 0 && (size_t)pos < cap; i++) {
        const BYTE *p = s + 8 + 4 * i;
        pos += snprintf(out + pos, cap - pos, "-%lu",
                        (unsigned long)(p[0] | p[1] << 8 | p[2] << 16 | (ULONG)p[3] << 24));
    }
}

static void guid_text(const BYTE *g, char *out)
{
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[3],
             g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13],
             g[14], g[15]);
}

BOOL lookup(const char *sam_utf8, Account *acc)
{
    char filter[1200];
    WCHAR wfilter[1200], base[512];
    WCHAR *attrs[] = {L"objectGUID", L"objectSid", L"pwdLastSet", L"userAccountControl", NULL};
    LDAPMessage *res = NULL, *e;
    size_t pos;
    ULONG rc;
    memset(acc, 0, sizeof(*acc));
    if (!dc_connect()) return FALSE;
    pos = (size_t)snprintf(filter, sizeof(filter), "(&(objectClass=user)(sAMAccountName=");
    for (const char *p = sam_utf8; *p && pos + 8 < sizeof(filter); p++) { /* RFC 4515 escapes */
        if (strchr("*()\\", *p)) pos += (size_t)snprintf(filter + pos, 4, "\\%02x", (unsigned char)*p);
        else filter[pos++] = *p;
    }
    snprintf(filter + pos, sizeof(filter) - pos, "))");
    MultiByteToWideChar(CP_UTF8, 0, filter, -1, wfilter, 1200);
    MultiByteToWideChar(CP_UTF8, 0, cfg.base_dn, -1, base, 512);
    rc = ldap_search_sW(g_ld, base, LDAP_SCOPE_SUBTREE, wfilter, attrs, 0, &res);
    if (rc != LDAP_SUCCESS) {
        if (res) ldap_msgfree(res);
        ldap_unbind(g_ld); /* reconnect next time */
        g_ld = NULL;
        return FALSE;
    }
    e = ldap_first_entry(g_ld, res);
    if (e) {
        struct berval **g = ldap_get_values_lenW(g_ld, e, L"objectGUID");
        struct berval **s = ldap_get_values_lenW(g_ld, e, L"objectSid");
        struct berval **p = ldap_get_values_lenW(g_ld, e, L"pwdLastSet");
        struct berval **u = ldap_get_values_lenW(g_ld, e, L"userAccountControl");
        if (g && g[0]->bv_len == 16 && s && p) {
            char num[32];
            guid_text((const BYTE *)g[0]->bv_val, acc->guid);
            sid_text((const BYTE *)s[0]->bv_val, s[0]->bv_len, acc->sid, sizeof(acc->sid));
            snprintf(num, sizeof(num), "%.*s", (int)p[0]->bv_len, p[0]->bv_val);
            acc->pwd_last_set = strtoull(num, NULL, 10);
            if (u) {
                snprintf(num, sizeof(num), "%.*s", (int)u[0]->bv_len, u[0]->bv_val);
                acc->uac = strtol(num, NULL, 10);
            }
            acc->found = TRUE;
        }
        if (g) ldap_value_free_len(g);
        if (s) ldap_value_free_len(s);
        if (p) ldap_value_free_len(p);
        if (u) ldap_value_free_len(u);
    }
    ldap_msgfree(res);
    return TRUE;
}

/* ---- HTTPS --------------------------------------------------------------------------------- */
