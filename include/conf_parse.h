/*
 * conf_parse: conf.c's value readers, shared with the modules that parse a
 * part of the file (conf_team.c). Not for the rest of the daemon: they
 * work on a json-c tree that has passed conf.c's structural pass.
 */
#ifndef CP_CONF_PARSE_H
#define CP_CONF_PARSE_H

#include <json-c/json.h>

#include "conf.h"

#define CONF_PATHMAX	256

struct conf_ctx {
	char		*err;
	size_t		 errsz;
	const char	*literal;	/* a key held literally in the file */
};

/* "where: message" into the context's error; always -1 */
int	 conf_err(struct conf_ctx *, const char *where, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* format a key path; -1 when it does not fit (the path is then cut) */
int	 conf_path(char *out, size_t outsz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* "a" + "b" -> "a.b", "" + "b" -> "b" */
int	 conf_join(char *out, size_t outsz, const char *parent,
	    const char *name);
/* the table's entry for path, which must have this type (fatalx if not) */
const struct conf_key *conf_key_must(const char *path, enum conf_type);
/* the member of obj named by k's last path element, or NULL */
json_object *conf_get(json_object *obj, const struct conf_key *k);
/* where: the object's instance path; path: the key's pattern; the value
 * is checked against the key's range in conf_keys[] */
int	 conf_int(struct conf_ctx *, json_object *obj, const char *where,
	    const char *path, long long *out);
void	 conf_bool(json_object *obj, const char *path, int *out);
int	 conf_str(struct conf_ctx *, json_object *obj, const char *where,
	    const char *path, int allow_empty, const char **out);
int	 conf_strdup(struct conf_ctx *, const char *where, const char *s,
	    char **out);
/* "env:NAME", "file:/path" or the key itself; absent = "" */
int	 conf_secret(struct conf_ctx *, json_object *obj, const char *where,
	    const char *path, char **out);

/* the same for a string already read: kw names it in errors, leaf (NULL =
 * none) is what a literal secret is reported as; *indirect (may be NULL)
 * says whether it came from env: or file: */
int	 conf_secret_value(struct conf_ctx *, const char *kw, const char *leaf,
	    const char *s, char **out, int *indirect);

/* conf_upstream.c: a provider's controls of its upstream requests
 * (headers, params, drop, ...); the free takes only what it parsed */
int	 conf_upstream_parse(struct conf_ctx *, json_object *obj,
	    const char *where, struct conf_provider *);
void	 conf_upstream_free(struct conf_provider *);
/* conf_upkeys.c: a provider's api_key / api_keys and retries */
int	 conf_upkeys_parse(struct conf_ctx *, json_object *obj,
	    const char *where, struct conf_provider *);
void	 conf_upkeys_free(struct conf_provider *);

/* conf_team.c: keys[], routes[], the usage log and the limits backend;
 * the check runs once the model table is complete */
int	 conf_team_parse(struct conf_ctx *, json_object *root, struct conf *);
int	 conf_team_check(struct conf_ctx *, struct conf *);
void	 conf_team_free(struct conf *);

#endif
