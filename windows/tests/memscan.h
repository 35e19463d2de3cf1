/* memscan.h - the harness's memory scan for a password (see memscan.c). */
#ifndef CREDSYNC_MEMSCAN_H
#define CREDSYNC_MEMSCAN_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* Scan every committed, readable region for the UTF-16-LE and UTF-8 forms, given as hex XORed
 * with the key byte KEY_HEX; prints each hit and a summary. The number of hits, -1: bad input. */
int memscan(const char *key_hex, const char *utf16_hex, const char *utf8_hex);

/* The scan's positive control: keep the XORed hex's bytes in a live process-heap block. */
BOOL keep(const char *key_hex, const char *hex);

#endif
