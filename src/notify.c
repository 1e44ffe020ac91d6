/*
 * notify.c: tell systemd about readiness, reloads, stopping and status.
 *
 * The protocol is one datagram of "KEY=value" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or '@' for the abstract namespace). It is
 * best effort: a failed send is logged once and never stops the daemon.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static struct sockaddr_un	 notify_addr;
static socklen_t		 notify_len;
static int			 notify_warned;

void
notify_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 n;

	notify_len = 0;
	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(notify_addr.sun_path))
		return;
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, n);
	if (path[0] == '@')
		notify_addr.sun_path[0] = '\0';
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	unsetenv("NOTIFY_SOCKET");
}

int
notify_enabled(void)
{
	return notify_len != 0;
}

void
notify_send(const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	int	 fd, n;

	if (notify_len == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) == -1) {
		close(fd);
		goto fail;
	}
	close(fd);
	return;
fail:
	if (!notify_warned++)
		log_warn("notify systemd");
}
