/*
 * harness.c - load credsyncfilter.dll as LSA does and drive it from a script (tests, bench).
 *
 * usage: harness.exe DLL SPOOL RECIPIENT_HEX DOMAIN MAX_SPOOL_FILES SCRIPT
 * Writes the filter's configuration (HKLM\SOFTWARE\credsync\PasswordFilter), loads the DLL,
 * calls InitializeChangeNotify, then runs SCRIPT. SPOOL "-": the configuration is not written
 * (the registry's, as install.ps1 or `reg add` left it, is used; RECIPIENT_HEX, DOMAIN and
 * MAX_SPOOL_FILES are ignored, and "move" is not available). SCRIPT has one command a line:
 *   notify RID ACCOUNT_HEX PASSWORD_HEX [COUNT]   (hex of the UTF-16-LE strings)
 *   drain MS                                      prints "drain ok" or "drain timeout"
 *   counters                                      prints "counters W H D F"
 *   move DIR                                      moves the spool's *.cap files into DIR
 *   filter RID ACCOUNT_HEX PASSWORD_HEX COUNT     times COUNT PasswordFilter calls (a baseline)
 *   latency RID ACCOUNT_HEX PASSWORD_HEX COUNT    COUNT times: notify, then wait until written
 *   timings                                       prints "timings" and each timed call's
 *                                                 microseconds since the last "timings"
 *   memscan KEY UTF16_XHEX UTF8_XHEX              scans this process's memory for a password
 *                                                 (its two forms' hex XORed with the key byte
 *                                                 KEY: memscan.c); prints each hit and
 *                                                 "memscan regions R bytes B hits N unread U"
 *   keep KEY XHEX                                 keeps XHEX's decoded bytes in a live heap
 *                                                 block (the scan's positive control)
 *   pause                                         prints "paused" and waits for a line on
 *                                                 stdin (a test reads /proc/PID/mem meanwhile)
 * Strings reach the DLL as LSA hands them: a UNICODE_STRING whose buffer has no NUL and junk
 * after Length. Prints "notified N max_us X total_us Y at FILETIME" after each notify command
 * (the system time just before its first call). Every allocation is checked.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <ntsecapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "memscan.h"

typedef BOOLEAN(NTAPI *PInit)(void);
typedef BOOLEAN(NTAPI *PFilter)(PUNICODE_STRING, PUNICODE_STRING, PUNICODE_STRING, BOOLEAN);
typedef NTSTATUS(NTAPI *PNotify)(PUNICODE_STRING, ULONG, PUNICODE_STRING);
typedef BOOL(WINAPI *PDrain)(DWORD);
typedef void(WINAPI *PCounters)(LONG *);

#define MAX_TIMINGS 200000
static double g_timings[MAX_TIMINGS];
static int g_ntimings;

/* hex of UTF-16-LE -> a UNICODE_STRING with 8 junk characters after Length and no NUL */
static BOOL make_us(UNICODE_STRING *us, const char *hex)
{
    size_t n = strlen(hex) / 4;
    WCHAR *b;
    if (strlen(hex) % 4) return FALSE;
    b = HeapAlloc(GetProcessHeap(), 0, (n + 8) * sizeof(WCHAR));
    if (!b) return FALSE;
    for (size_t i = 0; i < n; i++) {
        unsigned lo, hi;
        if (sscanf(hex + 4 * i, "%2x%2x", &lo, &hi) != 2) {
            HeapFree(GetProcessHeap(), 0, b);
            return FALSE;
        }
        b[i] = (WCHAR)(lo | hi << 8);
    }
    for (int i = 0; i < 8; i++) b[n + i] = L'#';
    us->Length = (USHORT)(n * sizeof(WCHAR));
    us->MaximumLength = (USHORT)((n + 8) * sizeof(WCHAR));
    us->Buffer = b;
    return TRUE;
}

static void set_sz(HKEY k, const WCHAR *name, const WCHAR *v)
{
    RegSetValueExW(k, name, 0, REG_SZ, (const BYTE *)v, (DWORD)((wcslen(v) + 1) * sizeof(WCHAR)));
}

static void move_spool(const WCHAR *spool, const char *dir)
{
    WCHAR pattern[MAX_PATH], from[MAX_PATH], to[MAX_PATH], wdir[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    int moved = 0;
    MultiByteToWideChar(CP_UTF8, 0, dir, -1, wdir, MAX_PATH);
    _snwprintf(pattern, MAX_PATH, L"%ls\\*.cap", spool);
    h = FindFirstFileW(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            _snwprintf(from, MAX_PATH, L"%ls\\%ls", spool, fd.cFileName);
            _snwprintf(to, MAX_PATH, L"%ls\\%ls", wdir, fd.cFileName);
            if (MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING)) moved++;
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    printf("moved %d\n", moved);
}

int wmain(int argc, WCHAR **argv)
{
    HMODULE dll;
    HKEY key;
    DWORD max_files;
    PInit init;
    PFilter filt;
    PNotify notify;
    PDrain drain;
    PCounters counters;
    FILE *script;
    char line[70000];
    LARGE_INTEGER freq;
    UNICODE_STRING full;

    if (argc != 7) {
        fprintf(stderr, "usage: harness DLL SPOOL RECIPIENT_HEX DOMAIN MAX_SPOOL_FILES SCRIPT\n");
        return 2;
    }
    if (wcscmp(argv[2], L"-") != 0) { /* "-": the configuration is in the registry already */
        if (RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\credsync\\PasswordFilter", 0, NULL,
                            0, KEY_ALL_ACCESS, NULL, &key, NULL) != ERROR_SUCCESS) {
            fprintf(stderr, "cannot write the configuration\n");
            return 2;
        }
        set_sz(key, L"SpoolDirectory", argv[2]);
        set_sz(key, L"RecipientKey", argv[3]);
        set_sz(key, L"Domain", argv[4]);
        max_files = (DWORD)wcstoul(argv[5], NULL, 10);
        RegSetValueExW(key, L"MaxSpoolFiles", 0, REG_DWORD, (const BYTE *)&max_files,
                       sizeof(max_files));
        RegCloseKey(key);
    }

    dll = LoadLibraryW(argv[1]);
    if (!dll) {
        fprintf(stderr, "LoadLibrary failed: %lu\n", GetLastError());
        return 3;
    }
    init = (PInit)(void *)GetProcAddress(dll, "InitializeChangeNotify");
    filt = (PFilter)(void *)GetProcAddress(dll, "PasswordFilter");
    notify = (PNotify)(void *)GetProcAddress(dll, "PasswordChangeNotify");
    drain = (PDrain)(void *)GetProcAddress(dll, "CredsyncFilterDrain");
    counters = (PCounters)(void *)GetProcAddress(dll, "CredsyncFilterCounters");
    if (!init || !filt || !notify || !drain || !counters) {
        fprintf(stderr, "missing export\n");
        return 3;
    }
    if (!init()) {
        printf("init false\n");
        fflush(stdout);
        return 4;
    }
    printf("init ok\n");
    if (!make_us(&full, "")) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    script = _wfopen(argv[6], L"rb");
    if (!script) {
        fprintf(stderr, "cannot open the script\n");
        return 2;
    }
    QueryPerformanceFrequency(&freq);
    while (fgets(line, sizeof(line), script)) {
        char cmd[16] = "", a[32768] = "", b[32768] = "";
        unsigned long rid = 0;
        int count = 1;
        line[strcspn(line, "\r\n")] = 0;
        if (sscanf(line, "%15s", cmd) != 1) continue;
        if (!strcmp(cmd, "notify")) {
            UNICODE_STRING user, pw;
            double max_us = 0, total_us = 0;
            FILETIME at;
            if (sscanf(line, "notify %lu %32767s %32767s %d", &rid, a, b, &count) < 3) {
                /* an empty account or password is written as "-" */
                fprintf(stderr, "bad line: %s\n", line);
                return 2;
            }
            if (!make_us(&user, strcmp(a, "-") ? a : "") || !make_us(&pw, strcmp(b, "-") ? b : "")) {
                fprintf(stderr, "bad hex\n");
                return 2;
            }
            if (!filt(&user, &full, &pw, FALSE)) {
                fprintf(stderr, "PasswordFilter refused\n");
                return 5;
            }
            GetSystemTimePreciseAsFileTime(&at); /* the bench's clock: just before the first call */
            for (int i = 0; i < count; i++) {
                LARGE_INTEGER t0, t1;
                double us;
                QueryPerformanceCounter(&t0);
                notify(&user, rid, &pw);
                QueryPerformanceCounter(&t1);
                us = (double)(t1.QuadPart - t0.QuadPart) * 1e6 / (double)freq.QuadPart;
                if (us > max_us) max_us = us;
                total_us += us;
                if (g_ntimings < MAX_TIMINGS) g_timings[g_ntimings++] = us;
            }
            /* what a careful LSA does after the call: wipe its own copy */
            SecureZeroMemory(pw.Buffer, pw.MaximumLength);
            HeapFree(GetProcessHeap(), 0, user.Buffer);
            HeapFree(GetProcessHeap(), 0, pw.Buffer);
            printf("notified %d max_us %.1f total_us %.1f at %llu\n", count, max_us, total_us,
                   ((unsigned long long)at.dwHighDateTime << 32) | at.dwLowDateTime);
        } else if (!strcmp(cmd, "filter") || !strcmp(cmd, "latency")) {
            UNICODE_STRING user, pw;
            BOOL is_latency = !strcmp(cmd, "latency");
            if (sscanf(line, "%15s %lu %32767s %32767s %d", cmd, &rid, a, b, &count) != 5 ||
                !make_us(&user, a) || !make_us(&pw, b)) {
                fprintf(stderr, "bad line: %s\n", line);
                return 2;
            }
            for (int i = 0; i < count; i++) {
                LARGE_INTEGER t0, t1;
                QueryPerformanceCounter(&t0);
                if (is_latency) {
                    notify(&user, rid, &pw);
                    if (!drain(15000)) {
                        fprintf(stderr, "not written within 15 s\n");
                        return 6;
                    }
                } else {
                    filt(&user, &full, &pw, FALSE);
                }
                QueryPerformanceCounter(&t1);
                if (g_ntimings < MAX_TIMINGS)
                    g_timings[g_ntimings++] =
                        (double)(t1.QuadPart - t0.QuadPart) * 1e6 / (double)freq.QuadPart;
            }
            SecureZeroMemory(pw.Buffer, pw.MaximumLength);
            HeapFree(GetProcessHeap(), 0, user.Buffer);
            HeapFree(GetProcessHeap(), 0, pw.Buffer);
            printf("%s %d\n", cmd, count);
        } else if (!strcmp(cmd, "drain")) {
            DWORD ms = 15000;
            sscanf(line, "drain %lu", &ms);
            printf(drain(ms) ? "drain ok\n" : "drain timeout\n");
        } else if (!strcmp(cmd, "counters")) {
            LONG c[4];
            counters(c);
            printf("counters %ld %ld %ld %ld\n", c[0], c[1], c[2], c[3]);
        } else if (!strcmp(cmd, "move")) {
            sscanf(line, "move %32767s", a);
            move_spool(argv[2], a);
        } else if (!strcmp(cmd, "memscan")) {
            char k[8] = "", c[32768] = "";
            if (sscanf(line, "memscan %7s %32767s %32767s", k, a, c) != 3 ||
                memscan(k, a, c) < 0) {
                fprintf(stderr, "bad line: memscan\n");
                return 2;
            }
        } else if (!strcmp(cmd, "keep")) {
            char k[8] = "";
            if (sscanf(line, "keep %7s %32767s", k, a) != 2 || !keep(k, a)) {
                fprintf(stderr, "bad line: keep\n");
                return 2;
            }
        } else if (!strcmp(cmd, "pause")) {
            char in[8];
            printf("paused\n");
            fflush(stdout);
            if (!fgets(in, sizeof(in), stdin)) in[0] = 0;
            printf("resumed\n");
        } else if (!strcmp(cmd, "timings")) {
            printf("timings");
            for (int i = 0; i < g_ntimings; i++) printf(" %.1f", g_timings[i]);
            printf("\n");
            g_ntimings = 0;
        } else {
            fprintf(stderr, "unknown command: %s\n", cmd);
            return 2;
        }
        fflush(stdout);
    }
    fclose(script);
    return 0; /* LSA never unloads a notification package */
}
