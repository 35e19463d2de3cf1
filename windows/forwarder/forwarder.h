/* forwarder.h - what the forwarder's parts share: its configuration and the LDAP read. */
#ifndef CREDSYNC_FORWARDER_H
#define CREDSYNC_FORWARDER_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

typedef struct {
    char server_host[256], forwarder_id[64], token[256], spool[MAX_PATH], ldap_host[256];
    char ldap_bind_dn[512], ldap_bind_password[256], base_dn[512], dc[256];
    int server_port, ldap_port;
} Config;

extern Config cfg;

/* The account's identity and its last change, as the DC has them. */
typedef struct {
    char guid[40], sid[200];
    unsigned long long pwd_last_set;
    long uac;
    BOOL found;
} Account;

void log_line(const char *what);
/* Bind to the DC (LDAPS; as the machine unless a bind DN is configured); kept until an error. */
BOOL dc_connect(void);
/* FALSE: the DC can't be read now. TRUE: acc->found says whether the account exists. */
BOOL lookup(const char *sam_utf8, Account *acc);

#endif
