/*
 * config.c - the forwarder's configuration file, its signing key and its log (stderr in console
 * mode, the Application event log always).
 */
#include "forwarder.h" /* windows.h first */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vendor/monocypher/optional/monocypher-ed25519.h"
#include "json.h"

Config cfg;

/* stderr (console mode) and the Application event log (source "credsync-forwarder", registered
 * by install.ps1; ReportEventW). Callers pass fixed texts (and counts) only: never a password,
 * the token or a record. Event ids: 1 information, 2 warning, 3 error. */
static HANDLE g_event_source;

void log_event(WORD type, const char *what)
{
    WCHAR text[512];
    const WCHAR *strings[1] = {text};
    DWORD id = type == EVENTLOG_ERROR_TYPE ? 3 : type == EVENTLOG_WARNING_TYPE ? 2 : 1;
    fprintf(stderr, "credsync-forwarder: %s\n", what);
    fflush(stderr);
    if (!g_event_source) g_event_source = RegisterEventSourceW(NULL, L"credsync-forwarder");
    if (!g_event_source) return;
    if (!MultiByteToWideChar(CP_UTF8, 0, what, -1, text, 512)) return;
    text[511] = 0;
    ReportEventW(g_event_source, type, 0, id, NULL, 1, 0, strings, NULL);
}

void log_line(const char *what) { log_event(EVENTLOG_WARNING_TYPE, what); }

static void set_field(const char *name, const char *value)
{
#define FIELD(n) else if (!strcmp(name, #n)) snprintf(cfg.n, sizeof(cfg.n), "%s", value)
    if (!strcmp(name, "server_port")) cfg.server_port = atoi(value);
    else if (!strcmp(name, "ldap_port")) cfg.ldap_port = atoi(value);
    else if (!strcmp(name, "reject_after")) cfg.reject_after = atoi(value);
    FIELD(server_host); FIELD(forwarder_id); FIELD(token); FIELD(spool); FIELD(ldap_host);
    FIELD(ldap_bind_dn); FIELD(ldap_bind_password); FIELD(base_dn); FIELD(dc);
#undef FIELD
}

BOOL load_config(const WCHAR *path)
{
    FILE *f = _wfopen(path, L"rb");
    char line[1024];
    if (!f) return FALSE;
    cfg.ldap_port = 636;
    cfg.reject_after = 300;
    while (fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '=');
        line[strcspn(line, "\r\n")] = 0;
        if (!eq || line[0] == '#') continue;
        *eq = 0;
        set_field(line, eq + 1);
    }
    fclose(f);
    return cfg.server_host[0] && cfg.server_port > 0 && cfg.forwarder_id[0] && cfg.spool[0] &&
           cfg.ldap_host[0] && cfg.base_dn[0];
}

/* csf1.<id>.<base64url seed>: the Ed25519 key pair (the seed is wiped by Monocypher). */
BOOL load_key(void)
{
    char prefix[80];
    BYTE seed[32];
    size_t n;
    snprintf(prefix, sizeof(prefix), "csf1.%s.", cfg.forwarder_id);
    if (strncmp(cfg.token, prefix, strlen(prefix))) return FALSE;
    n = b64url_decode(cfg.token + strlen(prefix), seed, sizeof(seed));
    SecureZeroMemory(cfg.token, sizeof(cfg.token));
    if (n != 32) return FALSE;
    crypto_ed25519_key_pair(g_sk, g_pk, seed);
    return TRUE;
}

