/*
 * credsyncfilter.c - the credsync password filter: an LSA notification package (x86_64).
 *
 * lsass calls PasswordChangeNotify after every committed password change on this DC. We copy the
 * account name, RID and new password out of LSA's UNICODE_STRINGs (Length bytes, no NUL assumed),
 * queue the copy and return at once: no crypto, no disk, no network in LSA's thread. One worker
 * thread seals each password to the directory's capture key (seal.c: X25519 + HKDF-SHA256 +
 * AES-256-GCM, with the domain, account, RID and notification time as associated data), zeroes
 * every plaintext copy, and writes one spool file per change (written to a temporary name, then
 * renamed: the forwarder never sees half a file). Nothing else happens inside lsass.
 *
 * Computer and trust accounts (names ending in "$") and krbtgt (RID 502) are ignored: their
 * passwords are machine secrets no vault should hold.
 *
 * Spool full (more than MaxSpoolFiles files, or the disk refuses the write): the sealed record is
 * held in memory (ciphertext only, at most MaxHeld of them) and written when room is back;
 * beyond that it is dropped and counted. A password change is never refused or delayed.
 *
 * Configuration: HKLM\SOFTWARE\credsync\PasswordFilter (written by windows/install.ps1):
 *   SpoolDirectory  REG_SZ     where the spool files go (only SYSTEM and Administrators may read)
 *   RecipientKey    REG_SZ     the capture key's X25519 public key, 64 hex digits
 *   Domain          REG_SZ     the domain's name, bound into each record's associated data
 *   MaxSpoolFiles   REG_DWORD  default 100000
 *   MaxHeld         REG_DWORD  default 10000
 *
 * Spool file (ASCII, one "name value" per line; the associated data is the first five lines'
 * values joined by "\n", see spool_record):
 *   credsync-lsa-capture v1
 *   domain <pct-encoded UTF-8>
 *   account <pct-encoded UTF-8>
 *   rid <decimal>
 *   notified_at <decimal FILETIME: 100 ns since 1601-01-01 UTC>
 *   format x25519-hkdf-sha256+a256gcm
 *   ciphertext <base64 of the sealed UTF-16-LE password>
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <ntsecapi.h>
#include <sddl.h>
#include <stdio.h>

#include "seal.h"

#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#endif

#define CONFIG_KEY L"SOFTWARE\\credsync\\PasswordFilter"
#define MAGIC "credsync-lsa-capture v1"
#define FORMAT "x25519-hkdf-sha256+a256gcm"
#define MAX_FIELD_CHARS 1024 /* longer names are cut (AD's are <= 256); passwords are kept whole */

typedef struct Item { /* a notification: plaintext, zeroed and freed by the worker */
    struct Item *next;
    ULONG rid;
    ULONGLONG notified_at;
    DWORD user_chars, pw_chars;
    WCHAR *user, *pw; /* inside this allocation */
} Item;

typedef struct Record { /* a sealed spool record: ciphertext only */
    struct Record *next;
    DWORD len;
    ULONGLONG notified_at;
    LONG serial;
    char *text; /* inside this allocation */
} Record;

/* An SRW lock and condition variables, not a semaphore and events: under Wine those are
 * wineserver round trips, and PasswordChangeNotify would queue behind the worker's file
 * requests there (bench/README.md, "windows_filter.py"); these stay in user mode (futexes
 * under Wine; on Windows the kernel is entered only to wake a sleeping worker). */
static SRWLOCK g_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE g_work = CONDITION_VARIABLE_INIT, g_idle = CONDITION_VARIABLE_INIT;
static Item *g_head, *g_tail;
static Record *g_held_head, *g_held_tail;
static LONG g_pending;  /* queued + being sealed */
static LONG g_held;     /* sealed, waiting for room in the spool */
static LONG g_written, g_dropped, g_failed, g_serial;
static HANDLE g_thread;
static HANDLE g_heap; /* a private heap: no contention with CNG's allocations */
static volatile LONG g_inited; /* 0 none, 1 initialising, 2 ready, 3 failed */

static WCHAR g_spool[MAX_PATH];
static BYTE g_recipient[SEAL_KEY_LEN];
static char g_domain[3 * MAX_FIELD_CHARS + 1];
static DWORD g_max_files = 100000, g_max_held = 10000;
static LONG g_spool_count;

static void *xalloc(SIZE_T n) { return HeapAlloc(g_heap, HEAP_ZERO_MEMORY, n); }

static void secure_free(void *p, SIZE_T n)
{
    if (!p) return;
    SecureZeroMemory(p, n);
    HeapFree(g_heap, 0, p);
}

static void report(WORD type, const WCHAR *text)
{
    HANDLE src = RegisterEventSourceW(NULL, L"credsync-filter");
    if (!src) return;
    ReportEventW(src, type, 0, 1, NULL, 1, 0, &text, NULL);
    DeregisterEventSource(src);
}

/* UTF-16 -> UTF-8, then %XX for every byte that is not printable ASCII, space and "%" (names). */
static void pct_encode(const WCHAR *s, DWORD n, char *out, size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    char utf8[4 * MAX_FIELD_CHARS];
    size_t pos = 0;
    int len;
    if (n > MAX_FIELD_CHARS) n = MAX_FIELD_CHARS;
    len = n ? WideCharToMultiByte(CP_UTF8, 0, s, (int)n, utf8, sizeof(utf8), NULL, NULL) : 0;
    for (int i = 0; i < len && pos + 4 < cap; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c < 0x21 || c >= 0x7f || c == '%') {
            out[pos++] = '%';
            out[pos++] = hx[c >> 4];
            out[pos++] = hx[c & 15];
        } else {
            out[pos++] = (char)c;
        }
    }
    out[pos] = 0;
}

static size_t base64(const BYTE *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        DWORD v = ((DWORD)in[i] << 16) | ((DWORD)in[i + 1] << 8) | in[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63];
        out[o++] = t[v & 63];
    }
    if (i < n) {
        DWORD v = (DWORD)in[i] << 16 | (i + 1 < n ? (DWORD)in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

/* Seal one notification into a spool record; NULL when it can't be (counted as failed). */
static Record *seal_item(const Item *it)
{
    char account[3 * MAX_FIELD_CHARS + 1], aad[sizeof(account) + sizeof(g_domain) + 96];
    ULONG plain_len = it->pw_chars * (ULONG)sizeof(WCHAR);
    SIZE_T sealed_len = (SIZE_T)plain_len + SEAL_OVERHEAD;
    BYTE *sealed = xalloc(sealed_len);
    SIZE_T cap = sizeof(aad) + 64 + 4 * (sealed_len / 3 + 1);
    Record *rec = NULL;
    int aad_len, head;
    if (!sealed) return NULL;
    pct_encode(it->user, it->user_chars, account, sizeof(account));
    aad_len = snprintf(aad, sizeof(aad), "%s\n%s\n%s\n%lu\n%llu", MAGIC, g_domain, account,
                       (unsigned long)it->rid, (unsigned long long)it->notified_at);
    if (aad_len <= 0 || (size_t)aad_len >= sizeof(aad)) goto out;
    /* UTF-16-LE: Windows' WCHAR buffer as it is (x86_64 is little-endian) */
    if (!seal_x25519(g_recipient, (const BYTE *)it->pw, plain_len, (const BYTE *)aad,
                     (ULONG)aad_len, sealed))
        goto out;
    rec = xalloc(sizeof(Record) + cap);
    if (!rec) goto out;
    rec->text = (char *)(rec + 1);
    rec->notified_at = it->notified_at;
    rec->serial = InterlockedIncrement(&g_serial);
    head = snprintf(rec->text, cap,
                    MAGIC "\ndomain %s\naccount %s\nrid %lu\nnotified_at %llu\nformat " FORMAT
                          "\nciphertext ",
                    g_domain, account, (unsigned long)it->rid,
                    (unsigned long long)it->notified_at);
    if (head <= 0 || (SIZE_T)head >= cap) {
        HeapFree(g_heap, 0, rec);
        rec = NULL;
        goto out;
    }
    rec->len = (DWORD)head;
    rec->len += (DWORD)base64(sealed, sealed_len, rec->text + head);
    rec->text[rec->len++] = '\n';
out:
    secure_free(sealed, sealed_len);
    return rec;
}

static LONG count_spool_files(void)
{
    WCHAR pattern[MAX_PATH + 8];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    LONG n = 0;
    _snwprintf(pattern, MAX_PATH + 8, L"%ls\\*.cap", g_spool);
    pattern[MAX_PATH + 7] = 0;
    h = FindFirstFileW(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) return 0;
    do n++;
    while (FindNextFileW(h, &fd));
    FindClose(h);
    return n;
}

/* Write a record as <notified_at>-<pid>-<serial>.cap (via a .tmp name); FALSE: no room now. */
static BOOL write_record(const Record *rec)
{
    WCHAR final_name[MAX_PATH + 64], tmp_name[MAX_PATH + 64];
    HANDLE f;
    DWORD done = 0;
    BOOL ok;
    if ((DWORD)g_spool_count >= g_max_files) {
        g_spool_count = count_spool_files(); /* the forwarder may have taken some */
        if ((DWORD)g_spool_count >= g_max_files) return FALSE;
    }
    _snwprintf(final_name, MAX_PATH + 64, L"%ls\\%020llu-%08lx-%08lx.cap", g_spool,
               (unsigned long long)rec->notified_at, (unsigned long)GetCurrentProcessId(),
               (unsigned long)rec->serial);
    _snwprintf(tmp_name, MAX_PATH + 64, L"%ls\\.%020llu-%08lx-%08lx.tmp", g_spool,
               (unsigned long long)rec->notified_at, (unsigned long)GetCurrentProcessId(),
               (unsigned long)rec->serial);
    final_name[MAX_PATH + 63] = tmp_name[MAX_PATH + 63] = 0;
    f = CreateFileW(tmp_name, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (f == INVALID_HANDLE_VALUE) return FALSE;
    ok = WriteFile(f, rec->text, rec->len, &done, NULL) && done == rec->len && FlushFileBuffers(f);
    CloseHandle(f);
    if (ok) ok = MoveFileExW(tmp_name, final_name, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    if (!ok) {
        DeleteFileW(tmp_name);
        return FALSE;
    }
    InterlockedIncrement(&g_spool_count);
    InterlockedIncrement(&g_written);
    return TRUE;
}

static void free_record(Record *rec) { HeapFree(g_heap, 0, rec); }

/* Write what is held, oldest first, until the spool refuses again. */
static void flush_held(void)
{
    for (;;) {
        Record *rec;
        AcquireSRWLockExclusive(&g_lock);
        rec = g_held_head;
        ReleaseSRWLockExclusive(&g_lock);
        if (!rec || !write_record(rec)) return;
        AcquireSRWLockExclusive(&g_lock);
        g_held_head = rec->next;
        if (!g_held_head) g_held_tail = NULL;
        g_held--;
        if (g_pending == 0 && g_held == 0) WakeAllConditionVariable(&g_idle);
        ReleaseSRWLockExclusive(&g_lock);
        free_record(rec);
    }
}

static void hold(Record *rec)
{
    AcquireSRWLockExclusive(&g_lock);
    if ((DWORD)g_held >= g_max_held) {
        ReleaseSRWLockExclusive(&g_lock);
        InterlockedIncrement(&g_dropped);
        report(EVENTLOG_ERROR_TYPE, L"credsync filter: spool full and memory queue full; a "
                                    L"password change was dropped");
        free_record(rec);
        return;
    }
    rec->next = NULL;
    if (g_held_tail) g_held_tail->next = rec;
    else g_held_head = rec;
    g_held_tail = rec;
    g_held++;
    ReleaseSRWLockExclusive(&g_lock);
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    if (!seal_init()) report(EVENTLOG_ERROR_TYPE, L"credsync filter: CNG is not available");
    for (;;) {
        Item *it;
        AcquireSRWLockExclusive(&g_lock);
        if (!g_head) /* with records held: look again in a second */
            SleepConditionVariableSRW(&g_work, &g_lock, g_held ? 1000 : INFINITE, 0);
        ReleaseSRWLockExclusive(&g_lock);
        if (g_held) flush_held();
        AcquireSRWLockExclusive(&g_lock);
        it = g_head;
        if (it) {
            g_head = it->next;
            if (!g_head) g_tail = NULL;
        }
        ReleaseSRWLockExclusive(&g_lock);
        if (!it) continue;
        {
            Record *rec = seal_item(it);
            secure_free(it, sizeof(Item) + ((SIZE_T)it->user_chars + it->pw_chars) * sizeof(WCHAR));
            if (!rec) InterlockedIncrement(&g_failed);
            else if (g_held || !write_record(rec)) hold(rec); /* keep the order */
            else free_record(rec);
        }
        AcquireSRWLockExclusive(&g_lock);
        if (--g_pending == 0 && g_held == 0) WakeAllConditionVariable(&g_idle);
        ReleaseSRWLockExclusive(&g_lock);
    }
    return 0;
}

static BOOL read_sz(const WCHAR *name, WCHAR *out, DWORD chars)
{
    DWORD size = chars * sizeof(WCHAR);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, CONFIG_KEY, name, RRF_RT_REG_SZ, NULL, out, &size) !=
        ERROR_SUCCESS)
        return FALSE;
    out[chars - 1] = 0;
    return TRUE;
}

static void read_dword(const WCHAR *name, DWORD *out)
{
    DWORD v = 0, size = sizeof(v);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, CONFIG_KEY, name, RRF_RT_REG_DWORD, NULL, &v, &size) ==
            ERROR_SUCCESS && v > 0)
        *out = v;
}

static int hex_value(WCHAR c)
{
    if (c >= L'0' && c <= L'9') return c - L'0';
    if (c >= L'a' && c <= L'f') return c - L'a' + 10;
    if (c >= L'A' && c <= L'F') return c - L'A' + 10;
    return -1;
}

static BOOL read_config(void)
{
    WCHAR key[80], domain[MAX_FIELD_CHARS + 1];
    if (!read_sz(L"SpoolDirectory", g_spool, MAX_PATH) || !g_spool[0]) return FALSE;
    if (!read_sz(L"RecipientKey", key, 80) || lstrlenW(key) != 2 * SEAL_KEY_LEN) return FALSE;
    for (int i = 0; i < SEAL_KEY_LEN; i++) {
        int hi = hex_value(key[2 * i]), lo = hex_value(key[2 * i + 1]);
        if (hi < 0 || lo < 0) return FALSE;
        g_recipient[i] = (BYTE)(hi << 4 | lo);
    }
    if (!read_sz(L"Domain", domain, MAX_FIELD_CHARS + 1)) domain[0] = 0;
    pct_encode(domain, (DWORD)lstrlenW(domain), g_domain, sizeof(g_domain));
    read_dword(L"MaxSpoolFiles", &g_max_files);
    read_dword(L"MaxHeld", &g_max_held);
    return TRUE;
}

static void ensure_spool_dir(void)
{
    /* SYSTEM only, not inherited (the installer makes it so too; lsass runs as SYSTEM, the
     * owner of what it creates) */
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    if (ConvertStringSecurityDescriptorToSecurityDescriptorW(
            L"D:P(A;OICI;FA;;;SY)", SDDL_REVISION_1, &sa.lpSecurityDescriptor,
            NULL)) {
        CreateDirectoryW(g_spool, &sa);
        LocalFree(sa.lpSecurityDescriptor);
    }
}

/* Called once by LSA at boot. FALSE: LSA skips this package (bad configuration). */
__declspec(dllexport) BOOLEAN NTAPI InitializeChangeNotify(void)
{
    if (InterlockedCompareExchange(&g_inited, 1, 0) != 0) return g_inited == 2;
    g_heap = HeapCreate(0, 0, 0);
    if (!g_heap) {
        InterlockedExchange(&g_inited, 3);
        return FALSE;
    }
    if (!read_config()) {
        report(EVENTLOG_ERROR_TYPE, L"credsync filter: HKLM\\" CONFIG_KEY
                                    L" is missing or invalid; no password will be captured");
        InterlockedExchange(&g_inited, 3);
        return FALSE;
    }
    ensure_spool_dir();
    g_spool_count = count_spool_files();
    g_thread = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    if (!g_thread) {
        InterlockedExchange(&g_inited, 3);
        return FALSE;
    }
    InterlockedExchange(&g_inited, 2);
    return TRUE;
}

/* Policy filter: credsync does not judge passwords; every one is accepted. */
__declspec(dllexport) BOOLEAN NTAPI PasswordFilter(PUNICODE_STRING AccountName,
                                                   PUNICODE_STRING FullName,
                                                   PUNICODE_STRING Password, BOOLEAN SetOperation)
{
    (void)AccountName;
    (void)FullName;
    (void)Password;
    (void)SetOperation;
    return TRUE;
}

/* After the change is committed: copy, queue, return. Never fails the caller. */
__declspec(dllexport) NTSTATUS NTAPI PasswordChangeNotify(PUNICODE_STRING UserName, ULONG RelativeId,
                                                          PUNICODE_STRING NewPassword)
{
    DWORD uc, pc;
    Item *it;
    FILETIME now;
    if (g_inited != 2 || !UserName || !NewPassword) return STATUS_SUCCESS;
    if ((UserName->Length && !UserName->Buffer) || (NewPassword->Length && !NewPassword->Buffer))
        return STATUS_SUCCESS;
    uc = UserName->Length / sizeof(WCHAR); /* Length is in bytes; there may be no NUL */
    pc = NewPassword->Length / sizeof(WCHAR);
    /* Not people's passwords: computer and trust accounts (name$) and krbtgt: never copied */
    if (RelativeId == DOMAIN_USER_RID_KRBTGT || (uc && UserName->Buffer[uc - 1] == L'$'))
        return STATUS_SUCCESS;
    if (uc > MAX_FIELD_CHARS) uc = MAX_FIELD_CHARS;
    GetSystemTimeAsFileTime(&now);
    it = HeapAlloc(g_heap, HEAP_ZERO_MEMORY, sizeof(Item) + ((SIZE_T)uc + pc) * sizeof(WCHAR));
    if (!it) {
        InterlockedIncrement(&g_dropped);
        return STATUS_SUCCESS;
    }
    it->rid = RelativeId;
    it->notified_at = ((ULONGLONG)now.dwHighDateTime << 32) | now.dwLowDateTime;
    it->user_chars = uc;
    it->pw_chars = pc;
    it->user = (WCHAR *)(it + 1);
    it->pw = it->user + uc;
    if (uc) CopyMemory(it->user, UserName->Buffer, uc * sizeof(WCHAR));
    if (pc) CopyMemory(it->pw, NewPassword->Buffer, pc * sizeof(WCHAR));
    AcquireSRWLockExclusive(&g_lock);
    g_pending++;
    if (g_tail) g_tail->next = it;
    else g_head = it;
    g_tail = it;
    ReleaseSRWLockExclusive(&g_lock);
    WakeConditionVariable(&g_work);
    return STATUS_SUCCESS; /* the change is already committed: never report failure */
}

/* Operations and tests (LSA never calls these): wait until every notification is sealed and
 * written; the counters since load. */
__declspec(dllexport) BOOL WINAPI CredsyncFilterDrain(DWORD timeout_ms)
{
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    BOOL idle;
    if (g_inited != 2) return TRUE;
    AcquireSRWLockExclusive(&g_lock);
    while (!(idle = g_pending == 0 && g_held == 0)) {
        ULONGLONG now = GetTickCount64();
        if (now >= deadline) break;
        SleepConditionVariableSRW(&g_idle, &g_lock, (DWORD)(deadline - now), 0);
    }
    ReleaseSRWLockExclusive(&g_lock);
    return idle;
}

__declspec(dllexport) void WINAPI CredsyncFilterCounters(LONG out[4])
{
    out[0] = g_written;
    out[1] = g_held;
    out[2] = g_dropped;
    out[3] = g_failed;
}

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) DisableThreadLibraryCalls(h);
    return TRUE;
}
