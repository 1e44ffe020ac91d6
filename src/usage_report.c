/*
 * usage_report.c: claude-proxy --usage-report DAY [FILE]: per-key totals
 * of one UTC day from a usage log, for an admin without Prometheus.
 *
 * Reads the log line by line (any length; "-" is standard input, so a
 * rotated, compressed log can be piped through zcat), keeps the lines
 * whose "time" falls on DAY, and prints one row per key, sorted by name,
 * and a total: requests, errors, the four token counts and server-tool
 * calls. Lines that are not usage records are counted and said, never
 * fatal. Fails (-1 and a message) only when DAY is no date or the file
 * cannot be read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "usage.h"

#define REPORT_COLS	7

struct report_row {
	char		*key;
	int64_t		 n[REPORT_COLS];
};

static const char *const report_cols[REPORT_COLS] = { "requests", "errors",
	"input", "output", "cache_read", "cache_write", "server_tools" };
static const char *const report_fields[REPORT_COLS] = { NULL, NULL,
	"input_tokens", "output_tokens", "cache_read_input_tokens",
	"cache_creation_input_tokens", "server_tool_calls" };

/* "today", "yesterday" or YYYY-MM-DD, as YYYY-MM-DD */
static int
report_day(const char *day, char *out, size_t outsz)
{
	struct tm	 tm;
	time_t		 t = time(NULL);
	char		*end;

	if (strcmp(day, "today") == 0 || strcmp(day, "yesterday") == 0) {
		if (strcmp(day, "yesterday") == 0)
			t -= 86400;
		gmtime_r(&t, &tm);
		strftime(out, outsz, "%Y-%m-%d", &tm);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(day, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || strlen(day) != 10)
		return -1;
	snprintf(out, outsz, "%s", day);
	return 0;
}

static struct report_row *
report_find(struct report_row **rows, size_t *nrows, const char *key)
{
	struct report_row	*r;
	size_t			 i;

	for (i = 0; i < *nrows; i++)
		if (strcmp((*rows)[i].key, key) == 0)
			return &(*rows)[i];
	if ((r = reallocarray(*rows, *nrows + 1, sizeof(*r))) == NULL)
		return NULL;
	*rows = r;
	r = &r[(*nrows)++];
	memset(r, 0, sizeof(*r));
	if ((r->key = strdup(key)) == NULL) {
		(*nrows)--;
		return NULL;
	}
	return r;
}

static int64_t
report_int(json_object *o, const char *field)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, field, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* one line: 1 counted, 0 another day, -1 not a usage record */
static int
report_line(const char *line, const char *day, struct report_row **rows,
    size_t *nrows)
{
	json_object		*o, *t, *k, *st;
	struct report_row	*r;
	const char		*key = "-";
	size_t			 i;
	int			 rv = -1;

	if ((o = json_tokener_parse(line)) == NULL)
		return -1;
	if (!json_object_object_get_ex(o, "time", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    !json_object_object_get_ex(o, "status", &st))
		goto done;
	rv = 0;
	if (strncmp(json_object_get_string(t), day, 10) != 0)
		goto done;
	if (json_object_object_get_ex(o, "key", &k) &&
	    json_object_is_type(k, json_type_string))
		key = json_object_get_string(k);
	if ((r = report_find(rows, nrows, key)) == NULL) {
		rv = -1;
		goto done;
	}
	r->n[0]++;
	r->n[1] += json_object_get_int(st) >= 400;
	for (i = 2; i < REPORT_COLS; i++)
		r->n[i] += report_int(o, report_fields[i]);
	rv = 1;
 done:
	json_object_put(o);
	return rv;
}

static int
report_cmp(const void *a, const void *b)
{
	return strcmp(((const struct report_row *)a)->key,
	    ((const struct report_row *)b)->key);
}

static void
report_print(FILE *out, const char *day, struct report_row *rows,
    size_t nrows, size_t bad)
{
	struct report_row	 total;
	size_t			 i, j;

	memset(&total, 0, sizeof(total));
	qsort(rows, nrows, sizeof(*rows), report_cmp);
	fprintf(out, "# usage on %s (UTC)\n%-24s", day, "key");
	for (j = 0; j < REPORT_COLS; j++)
		fprintf(out, " %12s", report_cols[j]);
	fputc('\n', out);
	for (i = 0; i <= nrows; i++) {
		const struct report_row *r = i < nrows ? &rows[i] : &total;

		fprintf(out, "%-24s", i < nrows ? r->key : "TOTAL");
		for (j = 0; j < REPORT_COLS; j++) {
			fprintf(out, " %12lld", (long long)r->n[j]);
			total.n[j] += i < nrows ? r->n[j] : 0;
		}
		fputc('\n', out);
	}
	if (bad > 0)
		fprintf(out, "# %zu lines were not usage records\n", bad);
}

int
usage_report(const char *dayarg, const char *path, FILE *out, char *err,
    size_t errsz)
{
	struct report_row	*rows = NULL;
	size_t			 nrows = 0, bad = 0, cap = 0, i;
	char			 day[16], *line = NULL;
	ssize_t			 n;
	FILE			*f;

	if (report_day(dayarg, day, sizeof(day)) == -1) {
		snprintf(err, errsz, "usage report: %s is not a day "
		    "(YYYY-MM-DD, today or yesterday)", dayarg);
		return -1;
	}
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errsz, "usage report: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1)
		if (n > 1 && report_line(line, day, &rows, &nrows) == -1)
			bad++;
	free(line);
	if (ferror(f)) {
		snprintf(err, errsz, "usage report: %s: read error", path);
		if (f != stdin)
			fclose(f);
		for (i = 0; i < nrows; i++)
			free(rows[i].key);
		free(rows);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	report_print(out, day, rows, nrows, bad);
	for (i = 0; i < nrows; i++)
		free(rows[i].key);
	free(rows);
	return 0;
}
