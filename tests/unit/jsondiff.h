/*
 * jsondiff: where two JSON values first differ, as a JSON path, printed as
 * a TAP comment. For the golden-fixture tests of the translators.
 */
#ifndef CP_JSONDIFF_H
#define CP_JSONDIFF_H

#include <stdio.h>

#include <json-c/json.h>

/* print where two values first differ, as a JSON path */
static inline void
json_diff(json_object *got, json_object *want, const char *path)
{
	char		 p[512];
	size_t		 i, ng, nw;

	if (json_object_get_type(got) != json_object_get_type(want)) {
		printf("#   %s: got %s, want %s\n", path,
		    json_object_to_json_string(got),
		    json_object_to_json_string(want));
		return;
	}
	if (json_object_is_type(got, json_type_object)) {
		json_object_object_foreach(want, k, wv) {
			json_object *gv;

			snprintf(p, sizeof(p), "%s.%s", path, k);
			if (!json_object_object_get_ex(got, k, &gv)) {
				printf("#   %s: missing\n", p);
				return;
			}
			if (!json_object_equal(gv, wv)) {
				json_diff(gv, wv, p);
				return;
			}
		}
		json_object_object_foreach(got, k2, gv2) {
			(void)gv2;
			if (!json_object_object_get_ex(want, k2, NULL)) {
				printf("#   %s.%s: unexpected\n", path, k2);
				return;
			}
		}
		return;
	}
	if (json_object_is_type(got, json_type_array)) {
		ng = json_object_array_length(got);
		nw = json_object_array_length(want);
		for (i = 0; i < ng && i < nw; i++) {
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			if (!json_object_equal(json_object_array_get_idx(got, i),
			    json_object_array_get_idx(want, i))) {
				json_diff(json_object_array_get_idx(got, i),
				    json_object_array_get_idx(want, i), p);
				return;
			}
		}
		if (ng != nw)
			printf("#   %s: %zu elements, want %zu\n", path, ng, nw);
		return;
	}
	printf("#   %s: got %s, want %s\n", path,
	    json_object_to_json_string(got), json_object_to_json_string(want));
}

#endif
