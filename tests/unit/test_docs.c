/*
 * test_docs: the manual pages against the code's own tables.
 *
 * claude-proxy.8 must document every option of cli_options[]: one .It
 * entry naming its long and short forms (and an argument when it takes
 * one), and a mention in the SYNOPSIS. claude-proxy.json.5 must document
 * every key of conf_keys[]: an ".It Ic <path> Ar <type>" entry stating its
 * default (or that it is required) and, for an integer, the range the
 * parser enforces ("0 to 65535"), and a row of the key summary with that
 * default and whether SIGHUP applies it. Neither page may document an
 * option or key the tables no longer have. The configuration examples in
 * claude-proxy.json.5 must load: the full one is config.json.example and
 * uses every key, and the failover one routes as the page says.
 *
 * The pages are read from $CP_TEST_DATA/../../man (meson sets CP_TEST_DATA
 * to tests/data).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "conf.h"
#include "models.h"
#include "tap.h"

#define MAXWORDS	64

struct page {
	const char	*name;
	char		*text;		/* the file, NUL-terminated */
	char		**line;		/* into a copy split at newlines */
	size_t		 nlines;
};

static char	 top_dir[1024];	/* the source tree */

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*s;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 || (s = malloc(n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(s, 1, n, f) != (size_t)n) {
		free(s);
		fclose(f);
		return NULL;
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

static int
page_load(struct page *p, const char *name)
{
	char	 path[1200], *copy, *s;
	size_t	 n;

	memset(p, 0, sizeof(*p));
	p->name = name;
	snprintf(path, sizeof(path), "%s/man/%s", top_dir, name);
	if ((p->text = slurp(path)) == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((copy = strdup(p->text)) == NULL)
		return -1;
	for (n = 1, s = copy; *s; s++)
		n += *s == '\n';
	if ((p->line = calloc(n, sizeof(*p->line))) == NULL)
		return -1;
	for (s = copy; s != NULL; ) {
		p->line[p->nlines++] = s;
		if ((s = strchr(s, '\n')) != NULL)
			*s++ = '\0';
	}
	return 0;
}

/* split a copy of a request line into blank-separated words */
static size_t
words(const char *line, char *buf, size_t bufsz, char *w[], size_t max)
{
	size_t	 n = 0;
	char	*s;

	snprintf(buf, bufsz, "%s", line);
	for (s = strtok(buf, " \t"); s != NULL && n < max;
	    s = strtok(NULL, " \t"))
		w[n++] = s;
	return n;
}

/* [from, to): the lines of section "name", 0/0 when absent */
static void
section(const struct page *p, const char *name, size_t *from, size_t *to)
{
	char	 want[128];
	size_t	 i;

	*from = *to = 0;
	snprintf(want, sizeof(want), ".Sh %s", name);
	for (i = 0; i < p->nlines; i++)
		if (strcmp(p->line[i], want) == 0)
			break;
	if (i == p->nlines)
		return;
	*from = i + 1;
	for (i = *from; i < p->nlines; i++)
		if (strncmp(p->line[i], ".Sh ", 4) == 0)
			break;
	*to = i;
}

/*
 * claude-proxy.8
 */

/* the argument of an Fl macro: "-config" or "\-config" is a long name */
static const char *
long_flag(const char *arg)
{
	if (strncmp(arg, "\\-", 2) == 0)
		return arg + 2;
	if (arg[0] == '-')
		return arg + 1;
	return NULL;
}

static const struct cli_option *
cli_find_long(const char *name)
{
	size_t	 i;

	for (i = 0; i < cli_noptions; i++)
		if (strcmp(cli_options[i].name, name) == 0)
			return &cli_options[i];
	return NULL;
}

static const struct cli_option *
cli_find_letter(int letter)
{
	size_t	 i;

	for (i = 0; i < cli_noptions; i++)
		if (cli_options[i].letter == letter)
			return &cli_options[i];
	return NULL;
}

/* is the option named by an "Fl" on this line (letters may be grouped)? */
static int
line_has_flag(const char *line, const struct cli_option *o, int want_long,
    int want_letter)
{
	char	 buf[1024], *w[MAXWORDS];
	size_t	 n, i;
	const char *l;

	n = words(line, buf, sizeof(buf), w, MAXWORDS);
	for (i = 0; i + 1 < n; i++) {
		if (strcmp(w[i], "Fl") != 0 && strcmp(w[i], ".Fl") != 0)
			continue;
		if ((l = long_flag(w[i + 1])) != NULL) {
			if (want_long && strcmp(l, o->name) == 0)
				return 1;
		} else if (want_letter && o->letter &&
		    strchr(w[i + 1], o->letter) != NULL)
			return 1;
	}
	return 0;
}

/* the .It line documenting option o, or -1 */
static long
option_entry(const struct page *p, const struct cli_option *o)
{
	size_t	 i;

	for (i = 0; i < p->nlines; i++)
		if (strncmp(p->line[i], ".It Fl ", 7) == 0 &&
		    line_has_flag(p->line[i], o, 1, 0))
			return (long)i;
	return -1;
}

/* the short letter as an Fl of its own: "Fl c", not inside another word */
static int
line_has_letter(const char *line, int letter)
{
	char	 buf[1024], *w[MAXWORDS];
	size_t	 n, i;

	n = words(line, buf, sizeof(buf), w, MAXWORDS);
	for (i = 0; i + 1 < n; i++)
		if (strcmp(w[i], "Fl") == 0 && w[i + 1][0] == letter &&
		    w[i + 1][1] == '\0')
			return 1;
	return 0;
}

static int
line_has_word(const char *line, const char *word)
{
	char	 buf[1024], *w[MAXWORDS];
	size_t	 n, i;

	n = words(line, buf, sizeof(buf), w, MAXWORDS);
	for (i = 0; i < n; i++)
		if (strcmp(w[i], word) == 0)
			return 1;
	return 0;
}

/* every Fl on the .It lines and in the SYNOPSIS is a real option */
static void
check_no_stale_options(const struct page *p)
{
	char	 buf[1024], *w[MAXWORDS];
	size_t	 from, to, i, j, k, n;
	const char *l;
	int	 stale;

	section(p, "SYNOPSIS", &from, &to);
	for (i = 0; i < p->nlines; i++) {
		if (strncmp(p->line[i], ".It Fl ", 7) != 0 &&
		    !(i >= from && i < to))
			continue;
		stale = 0;
		n = words(p->line[i], buf, sizeof(buf), w, MAXWORDS);
		for (j = 0; j + 1 < n; j++) {
			if (strcmp(w[j], "Fl") != 0)
				continue;
			if ((l = long_flag(w[j + 1])) != NULL)
				stale |= cli_find_long(l) == NULL;
			else
				for (k = 0; w[j + 1][k]; k++)
					stale |= cli_find_letter(
					    (unsigned char)w[j + 1][k]) == NULL;
		}
		ok(!stale, "%s:%zu: every flag is in cli_options[]: %s",
		    p->name, i + 1, p->line[i]);
	}
}

static void
check_daemon_page(const struct page *p)
{
	static const char *const sections[] = { "NAME", "SYNOPSIS",
	    "DESCRIPTION", "SIGNALS", "ENVIRONMENT", "FILES", "EXIT STATUS",
	    "EXAMPLES", "SEE ALSO" };
	static const char *const mentions[] = { "CONFIG_PATH",
	    "NOTIFY_SOCKET", "READY=1", "RELOADING=1", "STOPPING=1",
	    "STATUS=", "SIGHUP", "SIGTERM", "SIGKILL", "ANTHROPIC_BASE_URL",
	    "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_DEFAULT_SONNET_MODEL",
	    "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL",
	    "/v1/messages/count_tokens", "/etc/claude-proxy/config.json",
	    "claude-proxy.json 5" };
	const struct cli_option *o;
	size_t	 i, j, from, to;
	long	 e;
	int	 found;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		section(p, sections[i], &from, &to);
		ok(to > from, "%s has a %s section", p->name, sections[i]);
	}
	for (i = 0; i < sizeof(mentions) / sizeof(mentions[0]); i++)
		ok(strstr(p->text, mentions[i]) != NULL, "%s mentions %s",
		    p->name, mentions[i]);

	section(p, "SYNOPSIS", &from, &to);
	for (i = 0; i < cli_noptions; i++) {
		o = &cli_options[i];
		ok(o->help != NULL && o->help[0] != '\0',
		    "--%s has help text", o->name);

		e = option_entry(p, o);
		ok(e >= 0, "%s has an .It Fl entry for --%s", p->name,
		    o->name);
		if (e < 0)
			continue;
		if (o->letter)
			ok(line_has_letter(p->line[e], o->letter),
			    "%s:%ld: -%c is listed with --%s", p->name, e + 1,
			    o->letter, o->name);
		if (o->arg)
			ok(line_has_word(p->line[e], "Ar"),
			    "%s:%ld: --%s names its argument", p->name, e + 1,
			    o->name);
		else
			ok(!line_has_word(p->line[e], "Ar"),
			    "%s:%ld: --%s takes no argument", p->name, e + 1,
			    o->name);

		/* the SYNOPSIS shows the short form, or the long one */
		for (found = 0, j = from; j < to && !found; j++)
			found = line_has_flag(p->line[j], o, o->letter == 0,
			    o->letter != 0);
		ok(found, "%s SYNOPSIS shows --%s", p->name, o->name);
	}
	check_no_stale_options(p);
}

/*
 * claude-proxy.json.5
 */

static const char *
type_words(enum conf_type t)
{
	switch (t) {
	case CONF_STRING:	return "string";
	case CONF_INT:		return "integer";
	case CONF_BOOL:		return "boolean";
	case CONF_ARRAY:	return "array";
	case CONF_OBJECT:	return "object";
	case CONF_STRING_ARRAY:	return "array of strings";
	case CONF_STRING_MAP:	return "object of strings";
	case CONF_VALUE_MAP:	return "object of values";
	}
	return "?";
}

static const struct conf_key *
conf_find(const char *path)
{
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].path, path) == 0)
			return &conf_keys[i];
	return NULL;
}

/* a default the page can show as it is: 8888, true, id, [] */
static int
simple_default(const char *d)
{
	size_t	 i;

	if (strcmp(d, "true") == 0 || strcmp(d, "false") == 0 ||
	    strcmp(d, "id") == 0 || strcmp(d, "[]") == 0)
		return 1;
	for (i = 0; d[i]; i++)
		if (!isdigit((unsigned char)d[i]))
			return 0;
	return i > 0;
}

/* the entry ".It Ic <path> Ar <type words>": its line, or -1 */
static long
key_entry(const struct page *p, const char *path, char *type, size_t typesz)
{
	char	 buf[1024], *w[MAXWORDS];
	size_t	 i, j, n;

	for (i = 0; i < p->nlines; i++) {
		n = words(p->line[i], buf, sizeof(buf), w, MAXWORDS);
		if (n < 4 || strcmp(w[0], ".It") != 0 ||
		    strcmp(w[1], "Ic") != 0 || strcmp(w[2], path) != 0 ||
		    strcmp(w[3], "Ar") != 0)
			continue;
		type[0] = '\0';
		for (j = 4; j < n; j++) {
			strncat(type, w[j], typesz - strlen(type) - 1);
			if (j + 1 < n)
				strncat(type, " ", typesz - strlen(type) - 1);
		}
		return (long)i;
	}
	return -1;
}

/* the entry's text up to the next list item or list, lines joined */
static void
entry_body(const struct page *p, size_t at, char *out, size_t outsz)
{
	size_t	 i;

	out[0] = '\0';
	for (i = at + 1; i < p->nlines; i++) {
		if (strncmp(p->line[i], ".It", 3) == 0 ||
		    strncmp(p->line[i], ".El", 3) == 0 ||
		    strncmp(p->line[i], ".Bl", 3) == 0)
			break;
		strncat(out, p->line[i], outsz - strlen(out) - 1);
		strncat(out, " ", outsz - strlen(out) - 1);
	}
}

/* the summary row ".It Ic <path> Ta <default> Ta <yes|no>", split */
static int
summary_row(const struct page *p, const char *path, char *def, size_t defsz,
    char *reload, size_t reloadsz)
{
	char	 head[512];
	const char *s, *ta;
	size_t	 i;

	snprintf(head, sizeof(head), ".It Ic %s Ta ", path);
	for (i = 0; i < p->nlines; i++) {
		if (strncmp(p->line[i], head, strlen(head)) != 0)
			continue;
		s = p->line[i] + strlen(head);
		if ((ta = strstr(s, " Ta ")) == NULL)
			return -1;
		snprintf(def, defsz, "%.*s", (int)(ta - s), s);
		snprintf(reload, reloadsz, "%s", ta + 4);
		return 0;
	}
	return -1;
}

static void
check_no_stale_keys(const struct page *p)
{
	char	 buf[1024], *w[MAXWORDS];
	size_t	 i, n;

	for (i = 0; i < p->nlines; i++) {
		n = words(p->line[i], buf, sizeof(buf), w, MAXWORDS);
		if (n < 4 || strcmp(w[0], ".It") != 0 ||
		    strcmp(w[1], "Ic") != 0 ||
		    (strcmp(w[3], "Ar") != 0 && strcmp(w[3], "Ta") != 0))
			continue;
		ok(conf_find(w[2]) != NULL, "%s:%zu: %s is in conf_keys[]",
		    p->name, i + 1, w[2]);
	}
}

static void
check_key(const struct page *p, const struct conf_key *k)
{
	char	 type[128], body[8192], def[256], reload[64], want[300];
	long	 e;

	ok(k->doc != NULL && k->doc[0] != '\0', "%s has a doc line", k->path);
	ok(strstr(p->text, k->path) != NULL, "%s mentions %s", p->name,
	    k->path);

	e = key_entry(p, k->path, type, sizeof(type));
	ok(e >= 0, "%s has an entry .It Ic %s Ar ...", p->name, k->path);
	if (e >= 0) {
		is_str(type, type_words(k->type), "%s:%ld: type of %s",
		    p->name, e + 1, k->path);
		entry_body(p, (size_t)e, body, sizeof(body));
		if (k->default_value == NULL)
			ok(strncmp(body, "Required", 8) == 0,
			    "%s:%ld: %s is said to be required", p->name,
			    e + 1, k->path);
		else if (simple_default(k->default_value) &&
		    strcmp(k->default_value, "id") != 0 &&
		    strcmp(k->default_value, "[]") != 0) {
			char alt[300];

			snprintf(want, sizeof(want), "default is %s",
			    k->default_value);
			snprintf(alt, sizeof(alt), "default, %s,",
			    k->default_value);
			ok(strstr(body, want) != NULL ||
			    strstr(body, alt) != NULL,
			    "%s:%ld: %s says its default is %s", p->name,
			    e + 1, k->path, k->default_value);
		} else
			ok(strstr(body, "default") != NULL,
			    "%s:%ld: %s states its default", p->name, e + 1,
			    k->path);
	}

	/* the range the parser enforces, as the page words it */
	if (e >= 0 && k->type == CONF_INT) {
		snprintf(want, sizeof(want), "%lld to %lld", k->min, k->max);
		ok(strstr(body, want) != NULL, "%s:%ld: %s gives its range "
		    "\"%s\"", p->name, e + 1, k->path, want);
	}

	ok(summary_row(p, k->path, def, sizeof(def), reload,
	    sizeof(reload)) == 0, "%s summarises %s", p->name, k->path);
	if (k->default_value == NULL)
		is_str(def, "required", "summary: %s is required", k->path);
	else if (simple_default(k->default_value))
		is_str(def, k->default_value, "summary: default of %s",
		    k->path);
	else
		ok(def[0] != '\0', "summary: default of %s shown", k->path);
	is_str(reload, k->reloadable ? "yes" : "no",
	    "summary: SIGHUP %s %s", k->reloadable ? "reloads" : "keeps",
	    k->path);
}

/* the text of a literal display, roff escapes undone */
static void
unescape(const char *s, char *out, size_t outsz)
{
	size_t	 n = 0;

	for (; *s && n + 1 < outsz; s++) {
		if (s[0] == '\\' && s[1] == 'e') {
			out[n++] = '\\';
			s++;
		} else if (s[0] == '\\' && s[1] == '&')
			s++;
		else
			out[n++] = *s;
	}
	out[n] = '\0';
}

/* collect every key path a JSON value uses, "providers[].models[].id" */
static void
used_paths(json_object *v, const char *at, char seen[][128], size_t *nseen,
    size_t max)
{
	char	 path[128];
	size_t	 i;

	if (json_object_is_type(v, json_type_array)) {
		snprintf(path, sizeof(path), "%s[]", at);
		for (i = 0; i < json_object_array_length(v); i++)
			used_paths(json_object_array_get_idx(v, i), path, seen,
			    nseen, max);
		return;
	}
	if (!json_object_is_type(v, json_type_object))
		return;
	json_object_object_foreach(v, name, val) {
		snprintf(path, sizeof(path), "%s%s%s", at, *at ? "." : "",
		    name);
		for (i = 0; i < *nseen; i++)
			if (strcmp(seen[i], path) == 0)
				break;
		if (i == *nseen && *nseen < max)
			snprintf(seen[(*nseen)++], 128, "%s", path);
		if (!json_object_is_type(val, json_type_array) ||
		    json_object_array_length(val) == 0 ||
		    json_object_is_type(json_object_array_get_idx(val, 0),
		    json_type_object))
			used_paths(val, path, seen, nseen, max);
	}
}

static void
check_full_example(const char *text)
{
	static char	 seen[256][128];
	char		 path[1200], err[512];
	json_object	*ex, *file;
	struct conf	*c = NULL;
	char		*s;
	size_t		 nseen = 0, i, j;

	ok(conf_parse(text, strlen(text), &c, err, sizeof(err)) == 0,
	    "the full example loads: %s", err);
	conf_free(c);

	ex = json_tokener_parse(text);
	used_paths(ex, "", seen, &nseen, 256);
	for (i = 0; i < conf_nkeys; i++) {
		for (j = 0; j < nseen; j++)
			if (strcmp(seen[j], conf_keys[i].path) == 0)
				break;
		ok(j < nseen, "the full example shows %s", conf_keys[i].path);
	}

	snprintf(path, sizeof(path), "%s/config.json.example", top_dir);
	s = slurp(path);
	file = s ? json_tokener_parse(s) : NULL;
	ok(file != NULL && ex != NULL && json_object_equal(ex, file),
	    "the full example is config.json.example");
	json_object_put(file);
	json_object_put(ex);
	free(s);
}

/* the page: "claude-sonnet-4-5" reaches "primary" first, then "backup";
 * "deepseek-chat" by its id only "primary" */
static void
check_failover_example(const char *fragment)
{
	struct model_route r[8];
	struct conf	*c = NULL;
	char		*text, err[512] = "";
	size_t		 n;

	if (asprintf(&text, "{%s}", fragment) == -1)
		text = NULL;
	ok(text != NULL && conf_parse(text, strlen(text), &c, err,
	    sizeof(err)) == 0, "the failover example loads: %s", err);
	free(text);
	if (c == NULL)
		return;
	n = models_resolve(c, "claude-sonnet-4-5", r, 8);
	ok(n == 2 && strcmp(r[0].provider->name, "primary") == 0 &&
	    strcmp(r[1].provider->name, "backup") == 0,
	    "failover example: claude-sonnet-4-5 goes to primary, then backup");
	n = models_resolve(c, "deepseek-chat", r, 8);
	ok(n == 2 && strcmp(r[0].provider->name, "primary") == 0 &&
	    strcmp(r[1].provider->name, "backup") == 0,
	    "failover example: deepseek-chat goes to primary, then backup");
	conf_free(c);
}

static void
check_examples(const struct page *p)
{
	static char	 block[65536], text[65536];
	size_t		 from, to, i;
	int		 in = 0, full = 0, failover = 0;

	section(p, "EXAMPLES", &from, &to);
	for (i = from; i < to; i++) {
		if (strncmp(p->line[i], ".Bd -literal", 12) == 0) {
			in = 1;
			block[0] = '\0';
			continue;
		}
		if (!in)
			continue;
		if (strcmp(p->line[i], ".Ed") != 0) {
			strncat(block, p->line[i], sizeof(block) -
			    strlen(block) - 2);
			strcat(block, "\n");
			continue;
		}
		in = 0;
		unescape(block, text, sizeof(text));
		if (text[0] == '{') {
			char	 err[512];
			struct conf *c = NULL;

			if (!full++)
				check_full_example(text);
			else
				ok(conf_parse(text, strlen(text), &c, err,
				    sizeof(err)) == 0,
				    "%s example %d loads: %s", p->name, full,
				    err);
			conf_free(c);
		} else if (strncmp(text, "\"providers\"", 11) == 0) {
			failover++;
			check_failover_example(text);
		}
	}
	ok(full >= 1, "%s has a full example", p->name);
	ok(failover >= 1, "%s has a failover example", p->name);
}

static void
check_config_page(const struct page *p)
{
	size_t	 i;

	/* the examples name keys from the environment */
	setenv("CLAUDE_PROXY_AK", "test-ak", 1);
	setenv("DEEPSEEK_API_KEY", "test-deepseek", 1);
	setenv("OPENROUTER_API_KEY", "test-openrouter", 1);
	setenv("CLAUDE_PROXY_CI_KEY", "test-ci-key", 1);

	for (i = 0; i < conf_nkeys; i++)
		check_key(p, &conf_keys[i]);
	check_no_stale_keys(p);
	ok(strstr(p->text, "env:") != NULL && strstr(p->text, "file:") != NULL,
	    "%s documents env: and file: secrets", p->name);
	ok(strstr(p->text, "/v1/chat/completions") != NULL &&
	    strstr(p->text, "fnmatch 3") != NULL,
	    "%s documents the chat URL and fnmatch(3) aliases", p->name);
	check_examples(p);
}

static void
page_free(struct page *p)
{
	if (p->line != NULL)
		free(p->line[0]);	/* the split copy starts there */
	free(p->line);
	free(p->text);
}

int
main(void)
{
	const char	*data = getenv("CP_TEST_DATA");
	struct page	 daemon_page, config_page;

	snprintf(top_dir, sizeof(top_dir), "%s/../..", data ? data :
	    "tests/data");

	ok(page_load(&daemon_page, "claude-proxy.8") == 0,
	    "read man/claude-proxy.8");
	if (daemon_page.text != NULL)
		check_daemon_page(&daemon_page);
	ok(page_load(&config_page, "claude-proxy.json.5") == 0,
	    "read man/claude-proxy.json.5");
	if (config_page.text != NULL)
		check_config_page(&config_page);
	page_free(&daemon_page);
	page_free(&config_page);
	return tap_done();
}
