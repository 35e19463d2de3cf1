/*
 * memscan.c - the harness's "memscan" and "keep" commands: is a password anywhere in this
 * process's memory (as Windows sees it)?
 *
 * The pattern reaches us XORed with a key byte (hex in the script), so neither the script,
 * its stdio buffer nor the line holds it. It is decoded at scan time into a VirtualAlloc'd
 * buffer that the scan skips by address (as it skips its own read buffer), and zeroed after.
 * Every region VirtualQuery reports from the lowest to the highest application address that is
 * committed and readable (not PAGE_NOACCESS, not PAGE_GUARD) is copied in 1 MiB windows (with
 * an overlap of the pattern's length) by ReadProcessMemory on our own process, so a region
 * that goes away meanwhile fails the read instead of faulting, and compared there.
 *
 * Besides the two whole forms, each 16-byte block of the UTF-16-LE form at a multiple of 16
 * (AES's blocks: what a cipher's stack temporaries would hold) is looked for on its own
 * ("block N"), so a copy of a part is found too.
 *
 * Each hit prints "hit ADDR form F region BASE+SIZE alloc ALLOCBASE type T module M heap H":
 * the module owning an image region, the heap (GetProcessHeaps' index, "process" for the
 * process heap) whose busy block holds the address, or "-". Then
 * "memscan regions R bytes B hits N unread U" (U: bytes of readable regions that could not be
 * read after all, e.g. gone meanwhile).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "memscan.h"

#define WINDOW (1u << 20)
#define MAX_PATTERN 4096
#define MAX_HEAPS 64
#define BLOCK 16
#define MAX_PATTERNS (2 + MAX_PATTERN / BLOCK)

typedef struct {
    char form[16];
    BYTE *bytes;
    SIZE_T len;
} Pattern;

static BOOL unhex_xor(const char *hex, BYTE key, BYTE *out, SIZE_T cap, SIZE_T *len)
{
    SIZE_T n = strlen(hex);
    if (n % 2 || n / 2 > cap) return FALSE;
    for (SIZE_T i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return FALSE;
        out[i] = (BYTE)(v ^ key);
    }
    *len = n / 2;
    return TRUE;
}

static BOOL readable(const MEMORY_BASIC_INFORMATION *mbi)
{
    DWORD p = mbi->Protect;
    if (mbi->State != MEM_COMMIT || (p & PAGE_GUARD) || (p & PAGE_NOACCESS)) return FALSE;
    return (p & (PAGE_READONLY | PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READ |
                 PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)) != 0;
}

static const char *region_type(DWORD type)
{
    return type == MEM_IMAGE ? "image" : type == MEM_MAPPED ? "mapped" : "private";
}

/* which heap's busy block holds addr: "process", "heapN" or "-" */
static void heap_of(const BYTE *addr, char *out, size_t cap)
{
    HANDLE heaps[MAX_HEAPS];
    DWORD n = GetProcessHeaps(MAX_HEAPS, heaps);
    snprintf(out, cap, "-");
    if (n > MAX_HEAPS) n = MAX_HEAPS;
    for (DWORD i = 0; i < n; i++) {
        PROCESS_HEAP_ENTRY e;
        BOOL found = FALSE;
        if (!HeapLock(heaps[i])) continue;
        e.lpData = NULL;
        while (!found && HeapWalk(heaps[i], &e)) {
            const BYTE *d = e.lpData;
            if ((e.wFlags & PROCESS_HEAP_ENTRY_BUSY) && addr >= d && addr < d + e.cbData) {
                found = TRUE;
                if (heaps[i] == GetProcessHeap()) snprintf(out, cap, "process");
                else snprintf(out, cap, "heap%lu", (unsigned long)i);
            }
        }
        HeapUnlock(heaps[i]);
        if (found) return;
    }
}

static void report_hit(const BYTE *addr, const char *form, const MEMORY_BASIC_INFORMATION *mbi)
{
    char module[MAX_PATH] = "-", heap[32];
    if (mbi->Type == MEM_IMAGE &&
        !GetModuleFileNameA((HMODULE)mbi->AllocationBase, module, sizeof(module)))
        snprintf(module, sizeof(module), "?");
    heap_of(addr, heap, sizeof(heap));
    printf("hit %p form %s region %p+%llx alloc %p type %s module %s heap %s\n", (void *)addr,
           form, mbi->BaseAddress, (unsigned long long)mbi->RegionSize, mbi->AllocationBase,
           region_type(mbi->Type), module, heap);
}

int memscan(const char *key_hex, const char *utf16_hex, const char *utf8_hex)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION mbi;
    BYTE *pat_buf, *window;
    Pattern pats[MAX_PATTERNS];
    int npats = 2;
    unsigned key;
    SIZE_T maxlen = 0;
    unsigned long long regions = 0, bytes = 0, hits = 0, unread = 0;
    const BYTE *at;

    if (sscanf(key_hex, "%2x", &key) != 1 || key == 0) return -1;
    pat_buf = VirtualAlloc(NULL, 2 * MAX_PATTERN, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    window = VirtualAlloc(NULL, WINDOW + 2 * MAX_PATTERN, MEM_COMMIT | MEM_RESERVE,
                          PAGE_READWRITE);
    if (!pat_buf || !window) return -1;
    snprintf(pats[0].form, sizeof(pats[0].form), "utf16le");
    pats[0].bytes = pat_buf;
    snprintf(pats[1].form, sizeof(pats[1].form), "utf8");
    pats[1].bytes = pat_buf + MAX_PATTERN;
    if (!unhex_xor(utf16_hex, (BYTE)key, pats[0].bytes, MAX_PATTERN, &pats[0].len) ||
        !unhex_xor(utf8_hex, (BYTE)key, pats[1].bytes, MAX_PATTERN, &pats[1].len) ||
        pats[0].len < 4 || pats[1].len < 2)
        return -1;
    for (SIZE_T off = 0; pats[0].len > BLOCK && off + BLOCK <= pats[0].len; off += BLOCK) {
        Pattern *pt = &pats[npats++];
        snprintf(pt->form, sizeof(pt->form), "block%lu", (unsigned long)(off / BLOCK));
        pt->bytes = pats[0].bytes + off;
        pt->len = BLOCK;
    }
    for (int i = 0; i < npats; i++)
        if (pats[i].len > maxlen) maxlen = pats[i].len;

    GetSystemInfo(&si);
    at = si.lpMinimumApplicationAddress;
    while (at < (const BYTE *)si.lpMaximumApplicationAddress &&
           VirtualQuery(at, &mbi, sizeof(mbi)) == sizeof(mbi)) {
        const BYTE *base = mbi.BaseAddress, *end = base + mbi.RegionSize;
        at = end;
        if (!readable(&mbi) || mbi.AllocationBase == pat_buf || mbi.AllocationBase == window)
            continue;
        regions++;
        for (const BYTE *p = base; p < end;) {
            SIZE_T want = (SIZE_T)(end - p), got = 0;
            if (want > WINDOW + maxlen) want = WINDOW + maxlen;
            if (!ReadProcessMemory(GetCurrentProcess(), p, window, want, &got) || !got) {
                unread += (unsigned long long)(end - p);
                break;
            }
            bytes += got;
            for (int i = 0; i < npats; i++) {
                const Pattern *pt = &pats[i];
                /* a match starting in this window's first WINDOW bytes (the rest: the next) */
                for (SIZE_T o = 0; o + pt->len <= got && o < WINDOW; o++) {
                    if (window[o] == pt->bytes[0] && !memcmp(window + o, pt->bytes, pt->len)) {
                        hits++;
                        report_hit(p + o, pt->form, &mbi);
                    }
                }
            }
            if (got < want) {
                unread += (unsigned long long)(end - p) - got;
                break;
            }
            p += WINDOW;
        }
    }
    SecureZeroMemory(window, WINDOW + 2 * MAX_PATTERN);
    SecureZeroMemory(pat_buf, 2 * MAX_PATTERN);
    VirtualFree(window, 0, MEM_RELEASE);
    VirtualFree(pat_buf, 0, MEM_RELEASE);
    printf("memscan regions %llu bytes %llu hits %llu unread %llu\n", regions, bytes, hits, unread);
    return (int)(hits > 0x7fffffff ? 0x7fffffff : hits);
}

/* "keep": the positive control. Decode XORed hex into a process-heap block that stays
 * allocated (a deliberate leak, as a careless filter would leave it). */
BOOL keep(const char *key_hex, const char *hex)
{
    unsigned key;
    SIZE_T len = 0, cap = strlen(hex) / 2 + 1;
    BYTE *b;
    if (sscanf(key_hex, "%2x", &key) != 1) return FALSE;
    b = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, cap);
    if (!b) return FALSE;
    if (!unhex_xor(hex, (BYTE)key, b, cap, &len)) {
        HeapFree(GetProcessHeap(), 0, b);
        return FALSE;
    }
    printf("kept %llu at %p\n", (unsigned long long)len, (void *)b);
    return TRUE;
}
