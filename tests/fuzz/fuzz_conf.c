/*
 * fuzz_conf: conf_parse on arbitrary bytes, then the model table on what
 * it accepted.
 *
 * The input is the configuration file's text, NUL-terminated as conf_load
 * hands it over. Checks: a failure leaves *out NULL and an error message;
 * a success yields a configuration whose required strings are all there,
 * whose every model id routes to itself first and has a /v1/models entry,
 * and whose model list serialises; conf_free leaves nothing behind (LSan).
 * "env:" secrets can name FUZZ_KEY, set here; stdin is /dev/null so a
 * "file:/dev/stdin" secret cannot block the run.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "fuzz.h"
#include "models.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	 fd;

	(void)argc;
	(void)argv;
	setenv("FUZZ_KEY", "sk-fuzz-key-0123456789", 1);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	return 0;
}

static void
check_model_table(const struct conf *c)
{
	struct model_route	 routes[8];
	const struct conf_provider *p;
	const struct conf_model	*m;
	struct buf		 avail = BUF_INITIALIZER;
	json_object		*o;
	size_t			 i, j, k, n;

	FUZZ_CHECK(c->nproviders > 0 && c->providers != NULL, "no providers");
	for (i = 0; i < c->nproviders; i++) {
		p = &c->providers[i];
		FUZZ_CHECK(p->name != NULL && *p->name && p->base_url != NULL &&
		    p->api_key != NULL && p->url != NULL,
		    "providers[%zu]: a required string is missing", i);
		FUZZ_CHECK(p->nmodels > 0 && p->models != NULL,
		    "providers[%zu]: no models", i);
		for (j = 0; j < p->nmodels; j++) {
			m = &p->models[j];
			FUZZ_CHECK(m->id != NULL && *m->id &&
			    m->display_name != NULL && *m->display_name &&
			    m->remote_id != NULL && *m->remote_id,
			    "providers[%zu].models[%zu]: a name is missing",
			    i, j);
			for (k = 0; k < m->naliases; k++)
				FUZZ_CHECK(m->aliases[k] != NULL,
				    "NULL alias");
			n = models_resolve(c, m->id, routes, 8);
			FUZZ_CHECK(n > 0 && strcmp(routes[0].model->id,
			    m->id) == 0, "model %s does not route to itself",
			    m->id);
			o = models_one_json(c, m->id);
			FUZZ_CHECK(o != NULL, "no /v1/models entry for %s",
			    m->id);
			json_object_put(o);
			for (k = 0; k < m->naliases; k++)
				(void)models_resolve(c, m->aliases[k], routes,
				    8);
		}
	}
	models_available(c, &avail);
	FUZZ_CHECK(avail.len > 0, "no models available");
	buf_free(&avail);
	o = models_list_json(c, 1000, NULL, NULL);
	FUZZ_CHECK(o != NULL, "models_list_json failed");
	FUZZ_CHECK(json_object_to_json_string(o) != NULL, "list does not "
	    "serialise");
	json_object_put(o);
	o = models_list_json(c, 1, c->providers[0].models[0].id, NULL);
	FUZZ_CHECK(o != NULL, "models_list_json after the first id failed");
	json_object_put(o);
	(void)models_resolve(c, "claude-sonnet-4-5-20250929", routes, 8);
	FUZZ_CHECK(conf_workers(c) > 0, "workers %d", conf_workers(c));
	FUZZ_CHECK(conf_stream_idle_seconds(c) >= 0, "idle timeout");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct conf	*c = (struct conf *)1;
	char		 err[512], *text;
	int		 rv;

	if ((text = malloc(len + 1)) == NULL)
		abort();
	memcpy(text, data, len);
	text[len] = '\0';
	err[0] = '\0';
	rv = conf_parse(text, len, &c, err, sizeof(err));
	FUZZ_CHECK(rv == 0 || rv == -1, "return %d", rv);
	if (rv == -1) {
		FUZZ_CHECK(c == NULL, "failure with a configuration");
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && *err,
		    "failure without a message");
	} else {
		FUZZ_CHECK(c != NULL, "success without a configuration");
		check_model_table(c);
		conf_free(c);
	}
	free(text);
	return 0;
}
