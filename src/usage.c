/*
 * usage.c: what each /v1/messages request used: one JSON line in the
 * usage log (usage_log), and its counts in /metrics by key and model.
 *
 * The log is opened by the master, at start and on every reload, with
 * O_APPEND; workers inherit the descriptor at fork. So a reload after
 * logrotate moved the file away gives the new generation a fresh file,
 * while the old one finishes its requests into the file it had (the
 * packaged logrotate file keeps the newest rotated file uncompressed for
 * that). Each line is written with one write(2) of at most USAGE_LINE_MAX
 * bytes: on a local file system O_APPEND makes the seek to the end and
 * the write one step under the inode's lock, so lines of many workers
 * writing at once never interleave or overwrite each other (network file
 * systems such as NFS do not promise this).
 *
 * Every text a client chose (the model it asked for, its session id) is
 * masked like any log line (secret_mask), bounded, and JSON-escaped by
 * json-c. A line that cannot be written is dropped, and each worker says
 * so at most once a minute.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "keystats.h"
#include "log.h"
#include "secret.h"
#include "usage.h"

#define USAGE_LINE_MAX	4096
#define USAGE_TEXT_MAX	256	/* bytes of a client's words kept */

static int	 usage_fd = -1;
static time_t	 usage_warned;

int
usage_log_open(const struct conf *c)
{
	int	 fd = -1;

	if (c->usage_log != NULL && c->usage_log[0] != '\0' &&
	    (fd = open(c->usage_log, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOCTTY, 0640)) == -1)
		return -1;
	if (usage_fd != -1)
		close(usage_fd);
	usage_fd = fd;
	return 0;
}

/* a client's words: masked, one line, at most USAGE_TEXT_MAX bytes */
static json_object *
client_text(const char *s)
{
	struct buf	 m = BUF_INITIALIZER;
	json_object	*o;
	size_t		 n;

	if (s == NULL)
		return NULL;
	secret_mask(&m, s, strlen(s));
	n = m.len > USAGE_TEXT_MAX ? USAGE_TEXT_MAX : m.len;
	while (n > 0 && n < m.len && ((unsigned char)m.data[n] & 0xc0) == 0x80)
		n--;			/* not inside a UTF-8 sequence */
	o = json_object_new_string_len(m.data != NULL ? m.data : "", (int)n);
	buf_free(&m);
	return o;
}

static json_object *
name_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static void
utc_now(char *out, size_t outsz)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outsz, "%.20s.%03dZ", sec, (int)(ts.tv_nsec / 1000000 %
	    1000));
}

static void
write_line(const struct usage_rec *u)
{
	json_object	*o;
	const char	*s;
	char		 now[40];
	size_t		 len;
	ssize_t		 n;

	if ((o = json_object_new_object()) == NULL)
		return;
	utc_now(now, sizeof(now));
	json_object_object_add(o, "time", json_object_new_string(now));
	json_object_object_add(o, "request_id",
	    json_object_new_string(u->request_id));
	json_object_object_add(o, "key", name_or_null(u->key));
	json_object_object_add(o, "model_requested",
	    client_text(u->model_requested));
	json_object_object_add(o, "model", name_or_null(u->model));
	json_object_object_add(o, "provider", name_or_null(u->provider));
	json_object_object_add(o, "route", name_or_null(u->route));
	json_object_object_add(o, "status", json_object_new_int(u->status));
	json_object_object_add(o, "input_tokens",
	    json_object_new_int64(u->tokens.input));
	json_object_object_add(o, "output_tokens",
	    json_object_new_int64(u->tokens.output));
	json_object_object_add(o, "cache_read_input_tokens",
	    json_object_new_int64(u->tokens.cache_read));
	json_object_object_add(o, "cache_creation_input_tokens",
	    json_object_new_int64(u->tokens.cache_creation));
	json_object_object_add(o, "server_tool_calls",
	    json_object_new_int64(u->tokens.server_tool_calls));
	json_object_object_add(o, "duration_ms",
	    json_object_new_int64((int64_t)u->duration_ms));
	json_object_object_add(o, "session_id", client_text(u->session));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s != NULL && len < USAGE_LINE_MAX) {
		char line[USAGE_LINE_MAX + 1];

		memcpy(line, s, len);
		line[len] = '\n';
		/* one write per line: see the top of the file */
		n = write(usage_fd, line, len + 1);
		if (n != (ssize_t)len + 1 && time(NULL) - usage_warned >= 60) {
			usage_warned = time(NULL);
			if (n == -1)
				log_warn("usage log: a line was lost");
			else
				log_warnx("usage log: a line was cut short");
		}
	}
	json_object_put(o);
}

void
usage_record(const struct usage_rec *u)
{
	uint64_t	 n[KS_NCOUNTERS];

	memset(n, 0, sizeof(n));
	n[KS_REQUESTS] = 1;
	n[KS_ERRORS] = u->status >= 400;
	n[KS_INPUT] = u->tokens.input > 0 ? (uint64_t)u->tokens.input : 0;
	n[KS_OUTPUT] = u->tokens.output > 0 ? (uint64_t)u->tokens.output : 0;
	n[KS_CACHE_READ] = u->tokens.cache_read > 0 ?
	    (uint64_t)u->tokens.cache_read : 0;
	n[KS_CACHE_CREATION] = u->tokens.cache_creation > 0 ?
	    (uint64_t)u->tokens.cache_creation : 0;
	n[KS_SERVER_TOOLS] = u->tokens.server_tool_calls > 0 ?
	    (uint64_t)u->tokens.server_tool_calls : 0;
	keystats_add(u->key != NULL ? u->key : "-",
	    u->model != NULL ? u->model : "-", n);
	if (u->route != NULL)
		keystats_route(u->route, u->model != NULL ? u->model : "-");
	if (usage_fd != -1)
		write_line(u);
}
