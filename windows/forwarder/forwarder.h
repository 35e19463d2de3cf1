/* forwarder.h - what the forwarder's parts share: its configuration and the LDAP read. */
#ifndef CREDSYNC_FORWARDER_H
#define CREDSYNC_FORWARDER_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

typedef struct {
    char server_host[256], forwarder_id[64], token[256], spool[MAX_PATH], ldap_host[256];
    char ldap_bind_dn[512], ldap_bind_password[256], base_dn[512], dc[256];
    int server_port, ldap_port, reject_after;
} Config;

extern Config cfg;

/* The account's identity and its last change, as the DC has them. */
typedef struct {
    char guid[40], sid[200];
    unsigned long long pwd_last_set;
    long uac;
    BOOL found;
} Account;

/* config.c: the log (fixed texts and counts only, never a secret), the configuration, the key */
void log_event(WORD type, const char *what); /* EVENTLOG_{INFORMATION,WARNING,ERROR}_TYPE */
void log_line(const char *what);             /* a warning */
BOOL load_config(const WCHAR *path);
BOOL load_key(void); /* the Ed25519 key pair from the token (then wiped from cfg) */
extern BYTE g_sk[64], g_pk[32];

/* forwarder.c: one pass over the spool (1: nothing left undelivered); cancel a request in flight */
int pass(void);
BOOL spool_has_new(void); /* a record newer than the last pass's newest (a listing only) */
void http_cancel(void);

/* service.c: set when the service (or the console) is told to stop */
BOOL stopping(void);

/* Bind to the DC (LDAPS; as the machine unless a bind DN is configured); kept until an error. */
BOOL dc_connect(void);
/* FALSE: the DC can't be read now. TRUE: acc->found says whether the account exists. */
BOOL lookup(const char *sam_utf8, Account *acc);

#endif
