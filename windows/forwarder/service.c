/*
 * service.c - how the forwarder runs: as a Windows service (the way install.ps1 installs it), or
 * as a console program (tests, and an operator looking at it by hand).
 *
 * usage: credsync-forwarder.exe CONFIG_FILE [--once | --service]
 *   (none)     console mode: passes until Ctrl+C / Ctrl+Break / the console closes
 *   --once     console mode, one pass: exit 0 when everything was delivered, 3 when not
 *   --service  as the service "credsync-forwarder" (StartServiceCtrlDispatcherW): reports
 *              START_PENDING, RUNNING, STOP_PENDING and STOPPED to the service control manager;
 *              SERVICE_CONTROL_STOP and SHUTDOWN set the stop event, cancel the HTTPS request
 *              in flight and end the loop (files not acknowledged stay in the spool); a loop
 *              not ended 5 s later (a request that did not end) ends with the process
 * Exit / service exit codes: 0 stopped, 2 a bad configuration or token (ERROR_BAD_CONFIGURATION
 * as the service's Win32 exit code), 3 (--once) something not delivered.
 *
 * Between passes it waits on the spool directory's changes (ReadDirectoryChangesW: the filter's
 * rename into *.cap wakes it at once) and the stop event, at most 2 s (a full pass: what was not
 * delivered is tried again), listing the spool every 250 ms for a record newer than the last
 * pass's (a lost notification's record waits 250 ms, not 2 s). The request is re-armed BEFORE each pass reads the directory, so
 * a record spooled during a pass wakes the next one instead of waiting for the timer.
 */
#include "forwarder.h" /* windows.h first */

#include <stdio.h>
#include <string.h>

#define SERVICE_NAME L"credsync-forwarder"
#define EXIT_BAD_CONFIG 2
#define EXIT_UNDELIVERED 3

static HANDLE g_stop; /* manual-reset: set once, by the service control handler or Ctrl+C */
static const WCHAR *g_config_path;
static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;

BOOL stopping(void) { return g_stop && WaitForSingleObject(g_stop, 0) == WAIT_OBJECT_0; }

static void request_stop(void)
{
    SetEvent(g_stop);
    http_cancel();
}

static void report(DWORD state, DWORD exit_code, DWORD wait_hint)
{
    if (!g_status_handle) return;
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    g_status.dwWin32ExitCode = exit_code;
    g_status.dwServiceSpecificExitCode = 0;
    g_status.dwWaitHint = wait_hint;
    g_status.dwCheckPoint =
        state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : g_status.dwCheckPoint + 1;
    SetServiceStatus(g_status_handle, &g_status);
}

/* Configuration and key; FALSE (after an event log error) when the service can't run. */
static BOOL prepare(void)
{
    if (!load_config(g_config_path)) {
        log_event(EVENTLOG_ERROR_TYPE, "the configuration file is missing or incomplete (server_host, "
                                       "server_port, forwarder_id, spool, ldap_host, base_dn)");
        return FALSE;
    }
    if (!load_key()) {
        log_event(EVENTLOG_ERROR_TYPE, "the token is not this forwarder's (csf1.<forwarder_id>.<key>)");
        return FALSE;
    }
    return TRUE;
}

/* Wakes the loop when a file is created, renamed or deleted in the spool: ReadDirectoryChangesW,
 * overlapped, with a buffer, so that changes between two requests are queued for the next one
 * instead of lost (FindFirstChangeNotificationW's re-arm under Wine lost some: a change then
 * waited for the timer). The records' contents are not read from it, only that something moved. */
typedef struct {
    HANDLE dir;
    OVERLAPPED ov;
    DWORD buffer[4096]; /* 16 KB, DWORD-aligned as ReadDirectoryChangesW wants */
    BOOL armed;
} Watch;

static BOOL watch_arm(Watch *w)
{
    ResetEvent(w->ov.hEvent);
    w->armed = ReadDirectoryChangesW(w->dir, w->buffer, sizeof(w->buffer), FALSE,
                                     FILE_NOTIFY_CHANGE_FILE_NAME, NULL, &w->ov, NULL);
    return w->armed;
}

static BOOL watch_open(Watch *w, const WCHAR *dir)
{
    memset(w, 0, sizeof(*w));
    w->dir = CreateFileW(dir, FILE_LIST_DIRECTORY,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED, NULL);
    if (w->dir == INVALID_HANDLE_VALUE) return FALSE;
    w->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (w->ov.hEvent && watch_arm(w)) return TRUE;
    if (w->ov.hEvent) CloseHandle(w->ov.hEvent);
    CloseHandle(w->dir);
    w->dir = INVALID_HANDLE_VALUE;
    return FALSE;
}

static void watch_close(Watch *w)
{
    if (w->dir == INVALID_HANDLE_VALUE) return;
    if (w->armed) {
        DWORD n;
        CancelIo(w->dir);
        GetOverlappedResult(w->dir, &w->ov, &n, TRUE);
    }
    CloseHandle(w->ov.hEvent);
    CloseHandle(w->dir);
    w->dir = INVALID_HANDLE_VALUE;
}

/* The loop: passes until told to stop. 0, or (--once) 3 when something was not delivered. */
static int serve(BOOL once)
{
    WCHAR dir[MAX_PATH];
    Watch watch;
    BOOL watching;
    MultiByteToWideChar(CP_UTF8, 0, cfg.spool, -1, dir, MAX_PATH);
    if (once) return pass() ? 0 : EXIT_UNDELIVERED;
    CreateDirectoryW(dir, NULL); /* the filter may not have made it yet; install.ps1 does */
    watching = watch_open(&watch, dir);
    if (!watching) log_line("no change notification on the spool directory: it is read every 2 s");
    /* the LDAPS bind (seconds under Wine) before the first change, not after it; the
     * connection is kept, and made again only after an error */
    dc_connect();
    log_event(EVENTLOG_INFORMATION_TYPE, "started: waiting for spooled changes");
    while (!stopping()) {
        HANDLE waits[2] = {g_stop, watching ? watch.ov.hEvent : NULL};
        DWORD n, waited = 0, woke = WAIT_TIMEOUT;
        pass();
        /* until a change notification, the stop, or 2 s (a full pass: what was not delivered
         * is tried again); every 250 ms meanwhile a listing looks for a record newer than the
         * last pass's, which a lost notification (Wine: about 1 in 100) would otherwise leave
         * waiting for the 2 s pass */
        while (!stopping() && waited < 2000 && woke == WAIT_TIMEOUT) {
            woke = WaitForMultipleObjects(watching ? 2 : 1, waits, FALSE, 250);
            waited += 250;
            if (woke == WAIT_TIMEOUT && spool_has_new()) break;
        }
        if (woke == WAIT_OBJECT_0 + 1) {
            GetOverlappedResult(watch.dir, &watch.ov, &n, FALSE);
            /* re-armed before the pass reads the directory: a file renamed into the spool
             * while the pass runs is queued for the next request, whose wait returns at once */
            if (!watch_arm(&watch)) {
                log_line("the spool's change notification stopped: it is read every 2 s");
                watch_close(&watch);
                watching = FALSE;
            }
        }
    }
    if (watching) watch_close(&watch);
    log_event(EVENTLOG_INFORMATION_TYPE, "stopped");
    return 0;
}

/* ---- the service --------------------------------------------------------------------------- */
#define STOP_GRACE_MS 5000
static volatile LONG g_stopped; /* STOPPED reported (once: by service_main or the watchdog) */

static void report_stopped(DWORD exit_code)
{
    if (InterlockedExchange(&g_stopped, 1) == 0) report(SERVICE_STOPPED, exit_code, 0);
}

/* A stop that the loop has not finished in STOP_GRACE_MS: the request in flight did not end
 * when its handle was closed (under Wine a blocked synchronous WinHttpReceiveResponse waits for
 * its 120 s timeout when the server hangs). The process ends: nothing is lost, a record is
 * deleted only after the server's answer, and one sent but not acknowledged is sent again
 * (a duplicate for the server, or a 409 on the sequence that the next start resumes after). */
static DWORD WINAPI stop_watchdog(LPVOID unused)
{
    (void)unused;
    Sleep(STOP_GRACE_MS);
    if (g_stopped) return 0; /* the loop ended: the process is ending */
    log_event(EVENTLOG_WARNING_TYPE, "stopped while a request to the server was still waiting "
                                     "(it is sent again at the next start)");
    report_stopped(NO_ERROR);
    ExitProcess(0);
    return 0;
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID context)
{
    (void)type;
    (void)data;
    (void)context;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        report(SERVICE_STOP_PENDING, NO_ERROR, STOP_GRACE_MS + 2000);
        request_stop();
        {
            HANDLE watchdog = CreateThread(NULL, 0, stop_watchdog, NULL, 0, NULL);
            if (watchdog) CloseHandle(watchdog);
        }
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    g_status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
    if (!g_status_handle) return;
    report(SERVICE_START_PENDING, NO_ERROR, 10000);
    if (!prepare()) {
        report_stopped(ERROR_BAD_CONFIGURATION);
        return;
    }
    report(SERVICE_RUNNING, NO_ERROR, 0);
    serve(FALSE);
    report_stopped(NO_ERROR);
}

/* ---- the console --------------------------------------------------------------------------- */
static BOOL WINAPI console_handler(DWORD event)
{
    (void)event; /* Ctrl+C, Ctrl+Break, close, logoff, shutdown: stop cleanly */
    request_stop();
    return TRUE;
}

int wmain(int argc, WCHAR **argv)
{
    BOOL once = argc == 3 && !wcscmp(argv[2], L"--once");
    BOOL service = argc == 3 && !wcscmp(argv[2], L"--service");
    if (argc < 2 || argc > 3 || (argc == 3 && !once && !service)) {
        log_line("usage: credsync-forwarder CONFIG_FILE [--once | --service]");
        return EXIT_BAD_CONFIG;
    }
    g_config_path = argv[1];
    g_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!g_stop) {
        log_event(EVENTLOG_ERROR_TYPE, "cannot create the stop event");
        return 1;
    }
    if (service) {
        SERVICE_TABLE_ENTRYW table[] = {{SERVICE_NAME, service_main}, {NULL, NULL}};
        if (!StartServiceCtrlDispatcherW(table)) {
            log_event(EVENTLOG_ERROR_TYPE, "--service: not started by the service control manager "
                                           "(run it without --service in a console)");
            return 1;
        }
        return 0;
    }
    if (!prepare()) return EXIT_BAD_CONFIG;
    SetConsoleCtrlHandler(console_handler, TRUE);
    return serve(once);
}
