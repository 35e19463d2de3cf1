/*
 * forwarder.c - credsync's capture forwarder for a Windows DC: its configuration, the spool and
 * the batches (service.c runs it, as a Windows service or in console mode).
 *
 * Reads the password filter's spool (windows/filter), adds each account's objectGUID, objectSid,
 * userAccountControl and pwdLastSet from the DC by LDAP, and sends the records in signed,
 * sequenced batches (at most 1,000 events) to the capture endpoint as an enrolled forwarder:
 * POST /api/v1/agents/{forwarder_id}/captures, "Credsync-Signature: ed25519 <base64>" over
 * "credsync-capture-v1\n" + path + "\n" + body (Ed25519: Monocypher's optional RFC 8032 code).
 * A file is deleted only after the server's 200 for the batch that carried it; while the
 * server is down or refuses, the files stay and the next pass tries again (every 2 s without
 * --once). A record whose account is not in the directory (deleted, or its RID differs) is
 * moved to the spool's "rejected" folder once it is reject_after seconds old (default 300),
 * as it is (ciphertext only), and counted in the event log. The server's certificate is always verified (WinHTTP, the machine's trust store):
 * there is no option to turn that off. A 409 capture_sequence resumes after its last_seq.
 *
 * CONFIG_FILE: "name=value" lines (UTF-8), readable by SYSTEM and Administrators only (it holds
 * the token): server_host, server_port, forwarder_id, token (csf1.<id>.<seed>), spool,
 * ldap_host, ldap_port (636: LDAPS), ldap_bind_dn, ldap_bind_password (empty: bind as this
 * machine, Negotiate), base_dn, dc (this DC's name, reported with each event), reject_after
 * (seconds; default 300).
 * Nothing here prints or logs a password, the token or a record.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <bcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winhttp.h>

#include "../vendor/monocypher/optional/monocypher-ed25519.h"
#include "forwarder.h"
#include "json.h"

#define MAX_BATCH 1000

BYTE g_sk[64], g_pk[32];

/* One WinHTTP session and connection for the process: its kept-alive TLS connection is reused
 * from batch to batch (a handshake costs ~1 s under Wine); dropped after any failure. */
static HINTERNET g_session, g_connect;
/* The request in flight, so that a stop (another thread) can cancel it: closing a WinHTTP handle
 * makes the call blocked on it fail at once; its batch's files stay for the next start. */
static SRWLOCK g_request_lock = SRWLOCK_INIT;
static HINTERNET g_request;

void http_cancel(void)
{
    AcquireSRWLockExclusive(&g_request_lock);
    if (g_request) WinHttpCloseHandle(g_request);
    g_request = NULL;
    ReleaseSRWLockExclusive(&g_request_lock);
}

static void http_reset(void)
{
    if (g_connect) WinHttpCloseHandle(g_connect);
    if (g_session) WinHttpCloseHandle(g_session);
    g_connect = g_session = NULL;
}

static DWORD post(const WCHAR *path, const char *body, DWORD len, const char *sig_header, Buf *answer)
{
    HINTERNET r = NULL;
    DWORD status = 0, sz = sizeof(status), got;
    WCHAR host[256], headers[300];
    char chunk[4096];
    MultiByteToWideChar(CP_UTF8, 0, cfg.server_host, -1, host, 256);
    _snwprintf(headers, 300, L"Content-Type: application/json\r\nCredsync-Signature: %hs\r\n", sig_header);
    headers[299] = 0;
    if (!g_session) {
        g_session = WinHttpOpen(L"credsync-forwarder/1", WINHTTP_ACCESS_TYPE_NO_PROXY,
                                WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
        if (!g_session) return 0;
        /* resolve, connect 5 s; send and receive 120 s: a batch of 1,000 captures is checked
         * and stored before the server answers, which on a busy server took over 30 s (a batch
         * left unanswered is kept and sent again; the server counts a capture once) */
        WinHttpSetTimeouts(g_session, 5000, 5000, 120000, 120000);
    }
    if (!g_connect) g_connect = WinHttpConnect(g_session, host, (INTERNET_PORT)cfg.server_port, 0);
    if (!g_connect) {
        http_reset();
        return 0;
    }
    /* WINHTTP_FLAG_SECURE, and no WINHTTP_OPTION_SECURITY_FLAGS anywhere: always verified */
    r = WinHttpOpenRequest(g_connect, L"POST", path, NULL, WINHTTP_NO_REFERER,
                           WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE);
    AcquireSRWLockExclusive(&g_request_lock);
    if (r && stopping()) {
        WinHttpCloseHandle(r);
        r = NULL;
    }
    g_request = r;
    ReleaseSRWLockExclusive(&g_request_lock);
    if (!r || !WinHttpSendRequest(r, headers, (DWORD)-1L, (LPVOID)body, len, len, 0) ||
        !WinHttpReceiveResponse(r, NULL) ||
        !WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                             WINHTTP_HEADER_NAME_BY_INDEX, &status, &sz, WINHTTP_NO_HEADER_INDEX)) {
        status = 0;
        goto out;
    }
    while (WinHttpReadData(r, chunk, sizeof(chunk), &got) && got) buf_add(answer, chunk, got);
out:
    AcquireSRWLockExclusive(&g_request_lock);
    if (g_request) WinHttpCloseHandle(g_request); /* not closed by a stop meanwhile */
    g_request = NULL;
    ReleaseSRWLockExclusive(&g_request_lock);
    if (status == 0) http_reset();
    return status;
}

/* ---- the spool ----------------------------------------------------------------------------- */
static int cmp_names(const void *a, const void *b) { return wcscmp(*(WCHAR *const *)a, *(WCHAR *const *)b); }

static unsigned long long read_seq(void)
{
    char path[MAX_PATH + 32], text[32] = "";
    FILE *f;
    snprintf(path, sizeof(path), "%s\\forwarder.seq", cfg.spool);
    f = fopen(path, "rb");
    if (!f) return 0;
    if (!fgets(text, sizeof(text), f)) text[0] = 0;
    fclose(f);
    return strtoull(text, NULL, 10);
}

static void write_seq(unsigned long long seq)
{
    char path[MAX_PATH + 32], tmp[MAX_PATH + 32];
    FILE *f;
    snprintf(path, sizeof(path), "%s\\forwarder.seq", cfg.spool);
    snprintf(tmp, sizeof(tmp), "%s\\forwarder.seq.tmp", cfg.spool);
    f = fopen(tmp, "wb");
    if (!f) return;
    fprintf(f, "%llu\n", seq);
    fflush(f);
    fclose(f);
    MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The record's account, percent-decoded (UTF-8), its RID and notification time. */
static BOOL record_fields(const char *text, char *account, size_t cap, unsigned long *rid,
                          unsigned long long *notified)
{
    const char *a = strstr(text, "\naccount "), *r = strstr(text, "\nrid "),
               *t = strstr(text, "\nnotified_at ");
    size_t n = 0;
    if (strncmp(text, "credsync-lsa-capture v1\n", 24) || !a || !r || !t) return FALSE;
    for (a += 9; *a && *a != '\n' && n + 1 < cap; a++) {
        if (*a == '%' && hexval(a[1]) >= 0 && hexval(a[2]) >= 0) {
            account[n++] = (char)(hexval(a[1]) << 4 | hexval(a[2]));
            a += 2;
        } else {
            account[n++] = *a;
        }
    }
    account[n] = 0;
    *rid = strtoul(r + 5, NULL, 10);
    *notified = strtoull(t + 13, NULL, 10);
    return n > 0;
}

static void rfc3339(unsigned long long filetime, char out[32])
{
    FILETIME ft;
    SYSTEMTIME st;
    ft.dwLowDateTime = (DWORD)filetime;
    ft.dwHighDateTime = (DWORD)(filetime >> 32);
    FileTimeToSystemTime(&ft, &st);
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02uZ", st.wYear, st.wMonth, st.wDay, st.wHour,
             st.wMinute, st.wSecond);
}

static char *read_file(const WCHAR *path, size_t *len)
{
    FILE *f = _wfopen(path, L"rb");
    char *data;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = n >= 0 && n < 65536 ? malloc((size_t)n + 1) : NULL;
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) data[n] = 0;
    *len = (size_t)n;
    return data;
}

static unsigned long long now_filetime(void)
{
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    return ((unsigned long long)now.dwHighDateTime << 32) | now.dwLowDateTime;
}

/* What a pass did with the records it could not send; logged once at the pass's end. */
static size_t g_rejected, g_not_records, g_orphans_waiting;

/* Move a spool file, as it is, into the spool's "rejected" folder (made on first use; it
 * inherits the spool's SYSTEM-only ACL). The file is ciphertext: nothing to wipe. */
static void reject_file(const WCHAR *name)
{
    WCHAR dir[MAX_PATH + 16], from[MAX_PATH + 64], to[MAX_PATH + 96];
    _snwprintf(dir, MAX_PATH + 16, L"%hs\\rejected", cfg.spool);
    dir[MAX_PATH + 15] = 0;
    CreateDirectoryW(dir, NULL);
    _snwprintf(from, MAX_PATH + 64, L"%hs\\%ls", cfg.spool, name);
    from[MAX_PATH + 63] = 0;
    _snwprintf(to, MAX_PATH + 96, L"%ls\\%ls", dir, name);
    to[MAX_PATH + 95] = 0;
    if (MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) g_rejected++;
}

/* One batch: 1 when the server took it (its files deleted) or nothing was to be sent. */
static int send_batch(WCHAR **names, size_t count)
{
    Buf events = {0};
    BOOL *included = calloc(count, sizeof(BOOL));
    size_t sent = 0;
    int result = 0;
    char cached_name[1024] = "";
    Account cached_acc;
    BOOL cached = FALSE;
    char path_a[200];
    WCHAR path_w[200];
    ULONGLONG started = GetTickCount64(), looked_up;
    if (!included) {
        log_line("out of memory: the spool is read again at the next pass");
        return 0;
    }
    snprintf(path_a, sizeof(path_a), "/api/v1/agents/%s/captures", cfg.forwarder_id);
    MultiByteToWideChar(CP_UTF8, 0, path_a, -1, path_w, 200);
    for (size_t i = 0; i < count; i++) {
        WCHAR full[MAX_PATH + 64];
        char account[1024], when[32], num[64];
        unsigned long rid;
        unsigned long long notified;
        size_t len;
        char *text;
        Account acc;
        const char *last_dash;
        if (stopping()) goto out; /* a stop: what is not sent stays for the next start */
        _snwprintf(full, MAX_PATH + 64, L"%hs\\%ls", cfg.spool, names[i]);
        full[MAX_PATH + 63] = 0;
        text = read_file(full, &len);
        if (!text) continue;
        if (!record_fields(text, account, sizeof(account), &rid, &notified)) {
            free(text);
            reject_file(names[i]);
            g_not_records++;
            continue;
        }
        if (cached && !strcmp(cached_name, account)) {
            acc = cached_acc; /* the same account again in this batch: read once */
        } else if (!lookup(account, &acc)) { /* the DC can't be read now: try later */
            free(text);
            goto out;
        } else {
            snprintf(cached_name, sizeof(cached_name), "%s", account);
            cached_acc = acc;
            cached = TRUE;
        }
        last_dash = strrchr(acc.sid, '-');
        if (!acc.found || !last_dash || strtoul(last_dash + 1, NULL, 10) != rid) {
            /* deleted from the directory (or re-created: another RID). The vault could never
             * open it as that account's, so it leaves the spool once it is reject_after old:
             * younger, it waits (a DC read that missed it by accident gets a second chance) */
            free(text);
            if (now_filetime() >= notified + (unsigned long long)cfg.reject_after * 10000000ULL) {
                reject_file(names[i]);
            } else {
                g_orphans_waiting++;
            }
            continue;
        }
        rfc3339(notified, when);
        buf_str(&events, sent ? ",{" : "{");
        buf_str(&events, "\"kind\":\"password\",\"object_guid\":\"");
        buf_str(&events, acc.guid);
        buf_str(&events, "\",\"object_sid\":\"");
        buf_str(&events, acc.sid);
        buf_str(&events, "\",\"sam\":");
        buf_json(&events, account, strlen(account));
        snprintf(num, sizeof(num), ",\"upn\":null,\"uac\":%ld,\"pwd_last_set\":%llu,", acc.uac,
                 acc.pwd_last_set);
        buf_str(&events, num);
        buf_str(&events, "\"kvno\":null,\"ciphertext_format\":\"lsa-x25519-hkdf-sha256+a256gcm\",");
        buf_str(&events, "\"ciphertext\":");
        buf_json(&events, text, len);
        buf_str(&events, ",\"captured_at\":\"");
        buf_str(&events, when);
        buf_str(&events, "\",\"dc\":");
        buf_json(&events, cfg.dc, strlen(cfg.dc));
        buf_str(&events, "}");
        included[i] = TRUE;
        sent++;
        free(text);
    }
    if (!sent) {
        result = 1;
        goto out;
    }
    looked_up = GetTickCount64();
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned long long seq = read_seq() + 1;
        Buf body = {0}, msg = {0}, header = {0}, answer = {0};
        BYTE nonce[16], sig[64];
        char head[256], now_text[32];
        FILETIME now;
        DWORD status;
        const char *last;
        GetSystemTimeAsFileTime(&now);
        rfc3339(((unsigned long long)now.dwHighDateTime << 32) | now.dwLowDateTime, now_text);
        BCryptGenRandom(NULL, nonce, sizeof(nonce), BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        snprintf(head, sizeof(head), "{\"forwarder_id\":\"%s\",\"seq\":%llu,\"nonce\":\"", cfg.forwarder_id,
                 seq);
        buf_str(&body, head);
        for (int k = 0; k < 16; k++) {
            char hx[3];
            snprintf(hx, 3, "%02x", nonce[k]);
            buf_add(&body, hx, 2);
        }
        buf_str(&body, "\",\"sent_at\":\"");
        buf_str(&body, now_text);
        buf_str(&body, "\",\"events\":[");
        buf_add(&body, events.data, events.len);
        buf_str(&body, "]}");
        buf_str(&msg, "credsync-capture-v1\n");
        buf_str(&msg, path_a);
        buf_str(&msg, "\n");
        buf_add(&msg, body.data, body.len);
        crypto_ed25519_sign(sig, g_sk, (const BYTE *)msg.data, msg.len);
        buf_str(&header, "ed25519 ");
        buf_base64(&header, sig, sizeof(sig));
        status = post(path_w, body.data, (DWORD)body.len, header.data, &answer);
        last = answer.data ? strstr(answer.data, "\"last_seq\":") : NULL;
        if (status == 200) {
            for (size_t i = 0; i < count; i++) {
                WCHAR full[MAX_PATH + 64];
                if (!included[i]) continue;
                _snwprintf(full, MAX_PATH + 64, L"%hs\\%ls", cfg.spool, names[i]);
                full[MAX_PATH + 63] = 0;
                DeleteFileW(full);
            }
            write_seq(seq);
            /* where a batch's time went (console mode): reading and the DC, then the server */
            printf("sent %zu events seq %llu (read+ldap %llu ms, post %llu ms)\n", sent, seq,
                   looked_up - started, GetTickCount64() - looked_up);
            result = 1;
        } else if (status == 409 && last && strstr(answer.data, "capture_sequence")) {
            write_seq(strtoull(last + 11, NULL, 10)); /* resume after the server's last */
        } else {
            printf("not delivered (HTTP status %lu): %zu events kept\n", status, sent);
        }
        buf_free(&body);
        buf_free(&msg);
        buf_free(&header);
        buf_free(&answer);
        if (status != 409) break;
    }
out:
    fflush(stdout);
    buf_free(&events);
    free(included);
    return result;
}

/* The newest record name the last pass saw (names sort by notification time). */
static WCHAR g_newest[MAX_PATH];

/* A record newer than the last pass's newest? A directory listing, no LDAP and no HTTPS: the
 * loop's cheap check between two change notifications (which Wine now and then loses). */
BOOL spool_has_new(void)
{
    WCHAR pattern[MAX_PATH + 8];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    BOOL found = FALSE;
    _snwprintf(pattern, MAX_PATH + 8, L"%hs\\*.cap", cfg.spool);
    pattern[MAX_PATH + 7] = 0;
    h = FindFirstFileW(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) return FALSE;
    do {
        if (wcscmp(fd.cFileName, g_newest) > 0) found = TRUE;
    } while (!found && FindNextFileW(h, &fd));
    FindClose(h);
    return found;
}

/* One pass: send what the spool holds, in batches. 1: all sent (or nothing to send), 0: not. */
int pass(void)
{
    WCHAR pattern[MAX_PATH + 8], **names = NULL;
    WIN32_FIND_DATAW fd;
    HANDLE h;
    size_t count = 0, cap = 0;
    int ok = 1;
    BOOL short_of_memory = FALSE;
    g_rejected = g_not_records = g_orphans_waiting = 0;
    _snwprintf(pattern, MAX_PATH + 8, L"%hs\\*.cap", cfg.spool);
    pattern[MAX_PATH + 7] = 0;
    h = FindFirstFileW(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            WCHAR *name;
            if (count == cap) {
                size_t grown_cap = cap ? 2 * cap : 256;
                WCHAR **grown = realloc(names, grown_cap * sizeof(*names));
                if (!grown) { /* what was listed is sent; the rest at the next pass */
                    short_of_memory = TRUE;
                    break;
                }
                names = grown;
                cap = grown_cap;
            }
            name = _wcsdup(fd.cFileName);
            if (!name) {
                short_of_memory = TRUE;
                break;
            }
            names[count++] = name;
        } while (FindNextFileW(h, &fd));
        if (short_of_memory) {
            log_line("out of memory listing the spool: the rest is sent at the next pass");
            ok = 0;
        }
        FindClose(h);
    }
    if (count) {
        qsort(names, count, sizeof(*names), cmp_names); /* oldest first: by notification time */
        if (wcscmp(names[count - 1], g_newest) > 0) wcsncpy(g_newest, names[count - 1], MAX_PATH - 1);
    }
    for (size_t start = 0; start < count && ok; start += MAX_BATCH) {
        size_t end = start + MAX_BATCH < count ? start + MAX_BATCH : count;
        ok = send_batch(names + start, end - start);
    }
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
    if (g_rejected) {
        char text[300];
        snprintf(text, sizeof(text),
                 "%zu spool records moved to the spool's rejected folder (%zu not records; the "
                 "others' accounts are not in the directory or have another RID)",
                 g_rejected, g_not_records);
        log_event(EVENTLOG_WARNING_TYPE, text);
    }
    return ok;
}
