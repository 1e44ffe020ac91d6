/*
 * notify: systemd's readiness protocol (sd_notify) without libsystemd.
 */
#ifndef CP_NOTIFY_H
#define CP_NOTIFY_H

/* reads and forgets $NOTIFY_SOCKET (so workers never inherit it) */
void	 notify_init(void);
int	 notify_enabled(void);
/* one datagram: "READY=1", "RELOADING=1\nMONOTONIC_USEC=…", "STATUS=…" */
void	 notify_send(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
