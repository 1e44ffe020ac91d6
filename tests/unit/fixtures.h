/*
 * fixtures: the golden-fixture files of the translators' unit tests,
 * DATADIR/DIR/NAME.SUFFIX.json. fixture_load reads one (NULL when it is
 * missing or not JSON), fixture_save rewrites one (CP_TEST_REGEN), and
 * fixtures_all_listed fails a test when a NAME.in.json in DIR has no row
 * in the program's table, so a fixture added without a row cannot be
 * silently skipped. Static functions, as jsondiff.h.
 */
#ifndef CP_FIXTURES_H
#define CP_FIXTURES_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "tap.h"

static inline json_object *
fixture_load(const char *datadir, const char *dir, const char *name,
    const char *suffix)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s.%s.json", datadir, dir, name,
	    suffix);
	return json_object_from_file(path);
}

static inline void
fixture_save(const char *datadir, const char *dir, const char *name,
    const char *suffix, json_object *o)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s.%s.json", datadir, dir, name,
	    suffix);
	json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* table: n rows of stride bytes, each starting with its const char *name */
static inline void
fixtures_all_listed(const char *datadir, const char *dir, const void *table,
    size_t n, size_t stride)
{
	char		 path[1024], name[256];
	DIR		*d;
	struct dirent	*de;
	size_t		 i, len, missing = 0;
	const char	*row;

	snprintf(path, sizeof(path), "%s/%s", datadir, dir);
	if ((d = opendir(path)) == NULL) {
		ok(0, "fixture directory %s", path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 9 || strcmp(de->d_name + len - 8, ".in.json") != 0 ||
		    len - 8 >= sizeof(name))
			continue;
		memcpy(name, de->d_name, len - 8);
		name[len - 8] = '\0';
		for (i = 0; i < n; i++) {
			row = (const char *)table + i * stride;
			if (strcmp(*(const char *const *)row, name) == 0)
				break;
		}
		if (i == n) {
			printf("#   %s is not in fixtures[]\n", name);
			missing++;
		}
	}
	closedir(d);
	ok(missing == 0, "every fixture file in %s is run", dir);
}

#endif
