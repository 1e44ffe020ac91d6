/*
 * schema.c: tool schemas in the JSON Schema dialect a strict upstream
 * accepts.
 *
 * Claude Code describes its tools in JSON Schema 2020-12 ($schema, $ref and
 * $defs, const, propertyNames, additionalProperties, exclusiveMinimum ...).
 * Most upstreams take it; some validate tool parameters against a subset
 * and refuse the whole request for one keyword they do not know. Gemini's
 * OpenAI-compatible endpoint reads parameters as its Schema object (a
 * subset of OpenAPI 3.0) and answers "Invalid JSON payload received.
 * Unknown name \"$schema\"" for anything else.
 *
 * A dialect is a table: for each keyword it takes, what to do with it;
 * every other keyword is left out. What a left-out keyword meant is kept
 * where the dialect can say it another way:
 *  - "type": ["string","null"] -> "type":"string","nullable":true; several
 *    types -> anyOf of one type each;
 *  - const -> an enum of that one value; enum values as strings (Gemini's
 *    enum is a list of strings), null among them -> nullable;
 *  - exclusiveMinimum/exclusiveMaximum (2020-12 numbers or draft-04
 *    booleans) -> minimum/maximum, one step inside for integers;
 *  - oneOf -> anyOf; allOf -> merged into the schema; $ref to $defs or
 *    definitions -> the definition, inlined (nesting and total size
 *    bounded: a recursive type is cut off as {});
 *  - an anyOf branch that only allows null -> nullable on the schema; an
 *    anyOf left with one branch is that branch; an anyOf's sibling
 *    keywords go into every branch (Vertex AI wants anyOf alone);
 *  - format values the dialect rejects are left out;
 *  - items as a list (draft-04 tuples) -> the one schema, or anyOf.
 * Then the schema is made consistent again: required lists only
 * properties it has (none -> no required), enum and anyOf are never empty.
 *
 * Promises: the input is never modified (values that pass unchanged are
 * shared by reference count); opaque input (jsonparse's kept text) is
 * parsed first. Fails only when memory runs out (NULL).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jsonparse.h"
#include "schema.h"

#define SC_MAX_DEPTH	64		/* nesting of subschemas rewritten */
#define SC_MAX_REFS	4		/* $ref inside $ref inside ... */
#define SC_MAX_NODES	20000		/* subschemas one rewrite may make */

enum sc_action {
	SC_KEEP,		/* the value as it is */
	SC_SCHEMA,		/* a subschema */
	SC_SCHEMA_MAP,		/* name -> subschema (properties) */
	SC_SCHEMA_LIST,		/* subschemas (anyOf) */
	SC_ONEOF,		/* oneOf: as anyOf */
	SC_ALLOF,		/* merged into the schema */
	SC_TYPE,		/* one type, arrays to nullable/anyOf */
	SC_ENUM,		/* strings; null -> nullable */
	SC_CONST,		/* an enum of one */
	SC_EXCL_MIN,		/* folded into minimum */
	SC_EXCL_MAX,		/* folded into maximum */
	SC_FORMAT,		/* only formats the dialect takes */
	SC_REQUIRED,		/* only properties there are */
	SC_REF,			/* the definition, inlined */
	SC_ITEMS,		/* a subschema, or a list of them */
};

struct sc_rule {
	const char	*keyword;
	enum sc_action	 action;
};

struct sc_format {
	const char	*type;		/* NULL: any type */
	const char	*format;
};

struct schema_dialect {
	const char		*name;
	const struct sc_rule	*rules;		/* NULL-terminated */
	const struct sc_format	*formats;	/* NULL-terminated */
	int			 anyof_alone;	/* anyOf takes no siblings */
};

/*
 * Gemini: the fields of its Schema object (generativelanguage v1beta,
 * also behind its OpenAI-compatible endpoint). Formats: "enum" and
 * "date-time" for strings, float/double, int32/int64 for numbers; any
 * other makes the request fail.
 */
static const struct sc_rule gemini_rules[] = {
	{ "type",		SC_TYPE },
	{ "format",		SC_FORMAT },
	{ "title",		SC_KEEP },
	{ "description",	SC_KEEP },
	{ "nullable",		SC_KEEP },
	{ "enum",		SC_ENUM },
	{ "const",		SC_CONST },
	{ "default",		SC_KEEP },
	{ "example",		SC_KEEP },
	{ "properties",		SC_SCHEMA_MAP },
	{ "required",		SC_REQUIRED },
	{ "propertyOrdering",	SC_KEEP },
	{ "minProperties",	SC_KEEP },
	{ "maxProperties",	SC_KEEP },
	{ "items",		SC_ITEMS },
	{ "minItems",		SC_KEEP },
	{ "maxItems",		SC_KEEP },
	{ "minLength",		SC_KEEP },
	{ "maxLength",		SC_KEEP },
	{ "pattern",		SC_KEEP },
	{ "minimum",		SC_KEEP },
	{ "maximum",		SC_KEEP },
	{ "exclusiveMinimum",	SC_EXCL_MIN },
	{ "exclusiveMaximum",	SC_EXCL_MAX },
	{ "anyOf",		SC_SCHEMA_LIST },
	{ "oneOf",		SC_ONEOF },
	{ "allOf",		SC_ALLOF },
	{ "$ref",		SC_REF },
	{ NULL,			SC_KEEP }
};

static const struct sc_format gemini_formats[] = {
	{ "string",	"enum" },
	{ "string",	"date-time" },
	{ "number",	"float" },
	{ "number",	"double" },
	{ "integer",	"int32" },
	{ "integer",	"int64" },
	{ NULL,		NULL }
};

static const struct schema_dialect dialects[] = {
	{ "gemini", gemini_rules, gemini_formats, 1 },
};

const char *const schema_dialect_names[] = { "gemini", NULL };

const struct schema_dialect *
schema_dialect(const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < sizeof(dialects) / sizeof(dialects[0]);
	    i++)
		if (strcmp(dialects[i].name, name) == 0)
			return &dialects[i];
	return NULL;
}

/* ---- the walk ----------------------------------------------------------- */

struct sc {
	const struct schema_dialect *d;
	json_object	*root;		/* for $ref */
	int		 refs;		/* $ref nesting now */
	size_t		 nodes;		/* subschemas made */
	int		 nomem;
};

static json_object	*sc_schema(struct sc *, json_object *, int depth);

static enum sc_action
sc_action(const struct schema_dialect *d, const char *key, int *known)
{
	const struct sc_rule	*r;

	for (r = d->rules; r->keyword != NULL; r++)
		if (strcmp(r->keyword, key) == 0) {
			*known = 1;
			return r->action;
		}
	*known = 0;
	return SC_KEEP;
}

static json_object *
sc_get(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* o[key] = v, taking v; key copied (it may come from the input) */
static int
sc_set(struct sc *c, json_object *o, const char *key, json_object *v)
{
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		c->nomem = 1;
		return -1;
	}
	return 0;
}

/* o[key] = v shared, JSON null included */
static int
sc_share(struct sc *c, json_object *o, const char *key, json_object *v)
{
	if (v == NULL) {
		if (json_object_object_add(o, key, NULL) != 0)
			return c->nomem = 1, -1;
		return 0;
	}
	return sc_set(c, o, key, json_object_get(v));
}

static int
sc_push(struct sc *c, json_object *a, json_object *v)
{
	if (v == NULL || json_object_array_add(a, v) != 0) {
		json_object_put(v);
		c->nomem = 1;
		return -1;
	}
	return 0;
}

static int
sc_is(json_object *o, const char *s)
{
	return json_object_is_type(o, json_type_string) &&
	    strcmp(json_object_get_string(o), s) == 0;
}

/* ---- single keywords ---------------------------------------------------- */

/* the JSON type name of a value, for a type the enum implies */
static const char *
sc_type_of(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return "boolean";
	case json_type_int:
		return "integer";
	case json_type_double:
		return "number";
	case json_type_string:
		return "string";
	default:
		return NULL;
	}
}

/* out's description with hint appended */
static int
sc_hint(struct sc *c, json_object *out, const struct buf *hint)
{
	json_object	*d = sc_get(out, "description");
	struct buf	 t = BUF_INITIALIZER;
	int		 rc;

	if (json_object_is_type(d, json_type_string) &&
	    json_object_get_string_len(d) > 0 &&
	    (buf_puts(&t, json_object_get_string(d)) == -1 ||
	    buf_putc(&t, ' ') == -1))
		goto nomem;
	if (buf_append(&t, hint->data, hint->len) == -1)
		goto nomem;
	rc = sc_set(c, out, "description", json_object_new_string_len(t.data,
	    (int)t.len));
	buf_free(&t);
	return rc;
nomem:
	buf_free(&t);
	return c->nomem = 1, -1;
}

/* the values of an enum that are no strings, said in the description:
 * "(always true)", "(one of: 1, 2, 3)" */
static int
sc_enum_hint(struct sc *c, json_object *out, json_object *values, int one)
{
	struct buf	 h = BUF_INITIALIZER;
	json_object	*v;
	size_t		 i, n = one ? 1 : json_object_array_length(values);
	int		 rc = -1;

	if (buf_puts(&h, one ? "(always " : "(one of: ") == -1)
		goto done;
	for (i = 0; i < n; i++) {
		v = one ? values : json_object_array_get_idx(values, i);
		if (buf_printf(&h, "%s%s", i > 0 ? ", " : "",
		    json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN)) == -1)
			goto done;
	}
	if (buf_putc(&h, ')') == -1)
		goto done;
	rc = sc_hint(c, out, &h);
done:
	if (rc == -1)
		c->nomem = 1;
	buf_free(&h);
	return rc;
}

/*
 * enum (or const's one value). The dialect's enum lists strings: an enum
 * of strings stays one, null among them becomes nullable. Other values
 * would change type as strings (a tool wanting 1 would get "1"), so they
 * are said in the description instead, and their type kept or implied.
 */
static int
sc_enum(struct sc *c, json_object *in, json_object *out, json_object *values)
{
	json_object	*arr, *v;
	const char	*type = NULL, *t;
	size_t		 i, n, strings = 0, others = 0;
	int		 one = !json_object_is_type(values, json_type_array);

	n = one ? 1 : json_object_array_length(values);
	for (i = 0; i < n; i++) {
		v = one ? values : json_object_array_get_idx(values, i);
		if (v == NULL) {
			if (sc_set(c, out, "nullable",
			    json_object_new_boolean(1)) == -1)
				return -1;
		} else if (json_object_is_type(v, json_type_string))
			strings++;
		else {
			t = sc_type_of(v);
			type = others == 0 || (type != NULL && t != NULL &&
			    strcmp(type, t) == 0) ? t : NULL;
			others++;
		}
	}
	if (others > 0) {
		if (sc_enum_hint(c, out, values, one) == -1)
			return -1;
		if (type != NULL && strings == 0 && sc_get(in, "type") ==
		    NULL && sc_get(out, "type") == NULL)
			return sc_set(c, out, "type",
			    json_object_new_string(type));
		return 0;
	}
	if (strings == 0)
		return 0;
	if ((arr = json_object_new_array()) == NULL)
		return c->nomem = 1, -1;
	for (i = 0; i < n; i++) {
		v = one ? values : json_object_array_get_idx(values, i);
		if (v != NULL && sc_push(c, arr, json_object_get(v)) == -1) {
			json_object_put(arr);
			return -1;
		}
	}
	return sc_set(c, out, "enum", arr);
}

/* "type": one name as it is; a list -> one name + nullable, or anyOf */
static int
sc_type(struct sc *c, json_object *out, json_object *t)
{
	json_object	*one = NULL, *any, *branch, *v;
	size_t		 i, n, types = 0;

	if (!json_object_is_type(t, json_type_array)) {
		if (!json_object_is_type(t, json_type_string))
			return 0;		/* no type at all */
		if (sc_is(t, "null"))
			return sc_set(c, out, "nullable",
			    json_object_new_boolean(1));
		return sc_set(c, out, "type", json_object_get(t));
	}
	n = json_object_array_length(t);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(t, i);
		if (sc_is(v, "null")) {
			if (sc_set(c, out, "nullable",
			    json_object_new_boolean(1)) == -1)
				return -1;
		} else if (json_object_is_type(v, json_type_string)) {
			one = v;
			types++;
		}
	}
	if (types == 1)
		return sc_set(c, out, "type", json_object_get(one));
	if (types == 0)
		return 0;
	if ((any = json_object_new_array()) == NULL)
		return c->nomem = 1, -1;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(t, i);
		if (sc_is(v, "null") || !json_object_is_type(v,
		    json_type_string))
			continue;
		if ((branch = json_object_new_object()) == NULL ||
		    sc_set(c, branch, "type", json_object_get(v)) == -1 ||
		    sc_push(c, any, branch) == -1) {
			json_object_put(any);
			return c->nomem = 1, -1;
		}
	}
	return sc_set(c, out, "anyOf", any);
}

static int
sc_format(struct sc *c, json_object *out, json_object *f, json_object *type)
{
	const struct sc_format	*p;

	if (!json_object_is_type(f, json_type_string))
		return 0;
	for (p = c->d->formats; p->format != NULL; p++)
		if (strcmp(p->format, json_object_get_string(f)) == 0 &&
		    (p->type == NULL || sc_is(type, p->type)))
			return sc_set(c, out, "format", json_object_get(f));
	return 0;
}

/*
 * exclusiveMinimum/Maximum: 2020-12's bound, or draft-04's flag on
 * minimum/maximum. For integers one step inside is the same meaning; for
 * numbers the inclusive bound is as close as the dialect can say.
 */
static int
sc_exclusive(struct sc *c, json_object *in, json_object *out,
    json_object *v, const char *bound, int dir)
{
	json_object	*have = sc_get(in, bound), *nv;
	int		 integer = sc_is(sc_get(in, "type"), "integer");
	double		 x;

	if (json_object_is_type(v, json_type_boolean)) {
		if (!json_object_get_boolean(v) || have == NULL || !integer ||
		    !json_object_is_type(have, json_type_int))
			return 0;
		/* minimum already copied: replace it */
		return sc_set(c, out, bound, json_object_new_int64(
		    json_object_get_int64(have) + dir));
	}
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return 0;
	x = json_object_get_double(v);
	/* a tighter inclusive bound already there wins */
	if (have != NULL && (json_object_is_type(have, json_type_int) ||
	    json_object_is_type(have, json_type_double)) &&
	    (dir > 0 ? json_object_get_double(have) > x :
	    json_object_get_double(have) < x))
		return 0;
	if (integer && json_object_is_type(v, json_type_int))
		nv = json_object_new_int64(json_object_get_int64(v) + dir);
	else
		nv = json_object_get(v);
	return sc_set(c, out, bound, nv);
}

/* ---- subschemas --------------------------------------------------------- */

static json_object *
sc_map(struct sc *c, json_object *m, int depth)
{
	json_object	*out, *v;

	if (!json_object_is_type(m, json_type_object))
		return NULL;
	if ((out = json_object_new_object()) == NULL)
		return c->nomem = 1, NULL;
	json_object_object_foreach(m, k, sub) {
		if ((v = sc_schema(c, sub, depth + 1)) == NULL ||
		    sc_set(c, out, k, v) == -1) {
			json_object_put(out);
			return NULL;
		}
	}
	return out;
}

static json_object *
sc_list(struct sc *c, json_object *l, int depth)
{
	json_object	*out;
	size_t		 i, n;

	if (!json_object_is_type(l, json_type_array))
		return NULL;
	if ((out = json_object_new_array()) == NULL)
		return c->nomem = 1, NULL;
	n = json_object_array_length(l);
	for (i = 0; i < n; i++)
		if (sc_push(c, out, sc_schema(c, json_object_array_get_idx(l,
		    i), depth + 1)) == -1) {
			json_object_put(out);
			return NULL;
		}
	return out;
}

/* "#/$defs/Name" or "#/definitions/Name" of the root, or NULL */
static json_object *
sc_target(struct sc *c, json_object *ref)
{
	const char	*r, *name;
	json_object	*defs;

	if (!json_object_is_type(ref, json_type_string))
		return NULL;
	r = json_object_get_string(ref);
	if (strncmp(r, "#/$defs/", 8) == 0) {
		defs = sc_get(c->root, "$defs");
		name = r + 8;
	} else if (strncmp(r, "#/definitions/", 14) == 0) {
		defs = sc_get(c->root, "definitions");
		name = r + 14;
	} else
		return NULL;
	/* JSON pointer escapes in a name are rare enough to refuse */
	if (strchr(name, '/') != NULL || strchr(name, '~') != NULL)
		return NULL;
	return sc_get(defs, name);
}

/* a new array: a's elements, then b's (shared) */
static json_object *
sc_concat(struct sc *c, json_object *a, json_object *b)
{
	json_object	*out;
	size_t		 i, n;

	if ((out = json_object_new_array()) == NULL)
		return c->nomem = 1, NULL;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++)
		if (sc_push(c, out, json_object_get(
		    json_object_array_get_idx(a, i))) == -1)
			goto fail;
	n = json_object_array_length(b);
	for (i = 0; i < n; i++)
		if (sc_push(c, out, json_object_get(
		    json_object_array_get_idx(b, i))) == -1)
			goto fail;
	return out;
fail:
	json_object_put(out);
	return NULL;
}

/* a new object: a's members, then those of b that a lacks (shared) */
static json_object *
sc_union(struct sc *c, json_object *a, json_object *b)
{
	json_object	*out;

	if ((out = json_object_new_object()) == NULL)
		return c->nomem = 1, NULL;
	json_object_object_foreach(a, ak, av)
		if (sc_share(c, out, ak, av) == -1)
			goto fail;
	json_object_object_foreach(b, bk, bv)
		if (!json_object_object_get_ex(out, bk, NULL) &&
		    sc_share(c, out, bk, bv) == -1)
			goto fail;
	return out;
fail:
	json_object_put(out);
	return NULL;
}

/*
 * b's members that out lacks, added to out; properties and required add
 * up (allOf parts, an anyOf's siblings). Containers are shared between
 * schemas, so they are never changed in place: a merge makes new ones.
 */
static int
sc_merge(struct sc *c, json_object *out, json_object *b, const char *skip)
{
	json_object	*have;

	json_object_object_foreach(b, k, bv) {
		if (skip != NULL && strcmp(k, skip) == 0)
			continue;
		if (!json_object_object_get_ex(out, k, &have)) {
			if (sc_share(c, out, k, bv) == -1)
				return -1;
		} else if (strcmp(k, "properties") == 0 &&
		    json_object_is_type(have, json_type_object) &&
		    json_object_is_type(bv, json_type_object)) {
			if (sc_set(c, out, k, sc_union(c, have, bv)) == -1)
				return -1;
		} else if (strcmp(k, "required") == 0 &&
		    json_object_is_type(have, json_type_array) &&
		    json_object_is_type(bv, json_type_array)) {
			if (sc_set(c, out, k, sc_concat(c, have, bv)) == -1)
				return -1;
		}
	}
	return 0;
}

/* allOf: every part merged into the schema */
static int
sc_allof(struct sc *c, json_object *out, json_object *parts, int depth)
{
	json_object	*sub;
	size_t		 i, n;
	int		 rc;

	if (!json_object_is_type(parts, json_type_array))
		return 0;
	n = json_object_array_length(parts);
	for (i = 0; i < n; i++) {
		if ((sub = sc_schema(c, json_object_array_get_idx(parts, i),
		    depth + 1)) == NULL)
			return -1;
		rc = sc_merge(c, out, sub, NULL);
		json_object_put(sub);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* $ref: the definition it names, merged in (its siblings win); one that
 * names nothing, or nests too deep, says nothing */
static int
sc_ref(struct sc *c, json_object *out, json_object *ref, int depth)
{
	json_object	*target, *sub;
	int		 rc;

	if ((target = sc_target(c, ref)) == NULL || c->refs >= SC_MAX_REFS)
		return 0;
	c->refs++;
	sub = sc_schema(c, target, depth + 1);
	c->refs--;
	if (sub == NULL)
		return -1;
	rc = sc_merge(c, out, sub, NULL);
	json_object_put(sub);
	return rc;
}

/* items: a subschema; a draft-04 list of them -> the one, or anyOf */
static int
sc_items(struct sc *c, json_object *out, json_object *v, int depth)
{
	json_object	*any;

	if (!json_object_is_type(v, json_type_array))
		return sc_set(c, out, "items", sc_schema(c, v, depth + 1));
	if (json_object_array_length(v) == 0)
		return 0;
	if (json_object_array_length(v) == 1)
		return sc_set(c, out, "items", sc_schema(c,
		    json_object_array_get_idx(v, 0), depth + 1));
	if ((any = json_object_new_object()) == NULL)
		return c->nomem = 1, -1;
	if (sc_set(c, any, "anyOf", sc_list(c, v, depth)) == -1) {
		json_object_put(any);
		return -1;
	}
	return sc_set(c, out, "items", any);
}

/* anyOf and oneOf: their branches together, as anyOf */
static int
sc_branches(struct sc *c, json_object *out, json_object *v, int depth)
{
	json_object	*sub, *any;

	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0)
		return 0;
	if ((sub = sc_list(c, v, depth)) == NULL)
		return -1;
	if ((any = sc_get(out, "anyOf")) != NULL) {
		any = sc_concat(c, any, sub);
		json_object_put(sub);
		sub = any;
	}
	return sc_set(c, out, "anyOf", sub);
}

/* one keyword of in, done into out */
static int
sc_keyword(struct sc *c, json_object *in, json_object *out, const char *k,
    json_object *v, int depth)
{
	int	 known;

	switch (sc_action(c->d, k, &known)) {
	case SC_KEEP:
		return known ? sc_share(c, out, k, v) : 0;
	case SC_SCHEMA:
		return sc_set(c, out, k, sc_schema(c, v, depth + 1));
	case SC_ITEMS:
		return sc_items(c, out, v, depth);
	case SC_SCHEMA_MAP:
		if (!json_object_is_type(v, json_type_object))
			return 0;
		return sc_set(c, out, k, sc_map(c, v, depth));
	case SC_SCHEMA_LIST:
	case SC_ONEOF:
		return sc_branches(c, out, v, depth);
	case SC_ALLOF:
		return sc_allof(c, out, v, depth);
	case SC_TYPE:
		return sc_type(c, out, v);
	case SC_ENUM:
		return sc_enum(c, in, out, v);
	case SC_CONST:
		return sc_get(in, "enum") != NULL ? 0 : sc_enum(c, in, out, v);
	case SC_EXCL_MIN:
		return sc_exclusive(c, in, out, v, "minimum", 1);
	case SC_EXCL_MAX:
		return sc_exclusive(c, in, out, v, "maximum", -1);
	case SC_FORMAT:
		return sc_format(c, out, v, sc_get(in, "type"));
	case SC_REQUIRED:
		/* checked against the properties when the schema is done */
		return json_object_is_type(v, json_type_array) ?
		    sc_set(c, out, k, json_object_get(v)) : 0;
	case SC_REF:
		return sc_ref(c, out, v, depth);
	}
	return 0;
}

/* ---- making the schema consistent again --------------------------------- */

/* required: names of properties the schema has, each once */
static int
sc_required(struct sc *c, json_object *o)
{
	json_object	*req = sc_get(o, "required"), *props, *arr, *v;
	size_t		 i, j, n;

	if (req == NULL)
		return 0;
	props = sc_get(o, "properties");
	if ((arr = json_object_new_array()) == NULL)
		return c->nomem = 1, -1;
	n = json_object_array_length(req);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(req, i);
		if (!json_object_is_type(v, json_type_string) ||
		    sc_get(props, json_object_get_string(v)) == NULL)
			continue;
		for (j = 0; j < json_object_array_length(arr); j++)
			if (strcmp(json_object_get_string(
			    json_object_array_get_idx(arr, j)),
			    json_object_get_string(v)) == 0)
				break;
		if (j == json_object_array_length(arr) &&
		    sc_push(c, arr, json_object_get(v)) == -1) {
			json_object_put(arr);
			return -1;
		}
	}
	if (json_object_array_length(arr) == 0) {
		json_object_put(arr);
		json_object_object_del(o, "required");
		return 0;
	}
	return sc_set(c, o, "required", arr);
}

/* a branch that allows null and nothing else (what {"type":"null"} and
 * {"const":null} become) */
static int
sc_only_null(json_object *b)
{
	json_object	*n = sc_get(b, "nullable");

	if (n == NULL || !json_object_get_boolean(n))
		return 0;
	json_object_object_foreach(b, k, v) {
		(void)v;
		if (strcmp(k, "nullable") != 0 && strcmp(k, "description") !=
		    0 && strcmp(k, "title") != 0)
			return 0;
	}
	return 1;
}

/*
 * anyOf: branches that only allow null become nullable; one branch left
 * is the schema itself; with several, a dialect that wants anyOf alone
 * gets the other keywords in every branch. Returns the schema (maybe a
 * new one), NULL when memory runs out.
 */
static json_object *
sc_anyof(struct sc *c, json_object *out)
{
	json_object	*any = sc_get(out, "anyOf"), *kept, *b, *alone;
	size_t		 i, n;

	if (any == NULL)
		return out;
	if ((kept = json_object_new_array()) == NULL)
		goto nomem;
	n = json_object_array_length(any);
	for (i = 0; i < n; i++) {
		b = json_object_array_get_idx(any, i);
		if (sc_only_null(b)) {
			if (sc_set(c, out, "nullable",
			    json_object_new_boolean(1)) == -1)
				goto fail;
		} else if (sc_push(c, kept, json_object_get(b)) == -1)
			goto fail;
	}
	json_object_object_del(out, "anyOf");
	if ((n = json_object_array_length(kept)) == 1) {
		/* the schema's own keywords win over the branch's */
		if (sc_merge(c, out, json_object_array_get_idx(kept, 0),
		    NULL) == -1)
			goto fail;
	} else if (n > 1 && !c->d->anyof_alone) {
		if (sc_set(c, out, "anyOf", json_object_get(kept)) == -1)
			goto fail;
	} else if (n > 1) {
		for (i = 0; i < n; i++) {
			b = json_object_array_get_idx(kept, i);
			if (sc_merge(c, b, out, NULL) == -1 ||
			    sc_required(c, b) == -1)
				goto fail;
		}
		if ((alone = json_object_new_object()) == NULL ||
		    sc_set(c, alone, "anyOf", json_object_get(kept)) == -1) {
			json_object_put(alone);
			goto fail;
		}
		json_object_put(out);
		out = alone;
	}
	json_object_put(kept);
	return out;
fail:
	json_object_put(kept);
nomem:
	c->nomem = 1;
	json_object_put(out);
	return NULL;
}

static json_object *
sc_finish(struct sc *c, json_object *out)
{
	if ((out = sc_anyof(c, out)) == NULL)
		return NULL;
	if (sc_required(c, out) == -1) {
		json_object_put(out);
		return NULL;
	}
	/* an enum without a type: the dialect's enums are strings */
	if (sc_get(out, "enum") != NULL && sc_get(out, "type") == NULL &&
	    sc_set(c, out, "type", json_object_new_string("string")) == -1) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/*
 * One schema: every keyword by the dialect's rule, the folds that read
 * other keywords (exclusive bounds, format by type) after the rest.
 */
static json_object *
sc_schema(struct sc *c, json_object *in, int depth)
{
	json_object	*out;
	enum sc_action	 a;
	int		 known, pass;

	if ((out = json_object_new_object()) == NULL)
		return c->nomem = 1, NULL;
	/* true, false and anything odd: no constraint the dialect can say;
	 * too deep or too many: cut off there */
	if (!json_object_is_type(in, json_type_object) ||
	    depth > SC_MAX_DEPTH || ++c->nodes > SC_MAX_NODES)
		return out;
	for (pass = 0; pass < 2; pass++) {
		json_object_object_foreach(in, k, v) {
			a = sc_action(c->d, k, &known);
			/* the folds that read what the first pass made */
			if ((a == SC_EXCL_MIN || a == SC_EXCL_MAX ||
			    a == SC_FORMAT || a == SC_ENUM || a == SC_CONST) !=
			    (pass == 1))
				continue;
			if (a == SC_FORMAT) {
				if (sc_format(c, out, v, sc_get(out,
				    "type")) == -1)
					goto fail;
			} else if (sc_keyword(c, in, out, k, v, depth) == -1)
				goto fail;
		}
	}
	return sc_finish(c, out);
fail:
	json_object_put(out);
	return NULL;
}

/* ---- the interface ------------------------------------------------------ */

json_object *
schema_rewrite(json_object *schema, const struct schema_dialect *d)
{
	struct json_tokener	*tok;
	struct sc		 c;
	json_object		*parsed = NULL, *out;
	const char		*text;

	/* kept text: valid JSON (the request parser checked it), read
	 * again to be walked */
	if (jsonparse_is_opaque(schema)) {
		if ((text = json_object_to_json_string_ext(schema,
		    JSON_C_TO_STRING_PLAIN)) == NULL ||
		    (tok = json_tokener_new_ex(SC_MAX_DEPTH * 2)) == NULL)
			return NULL;
		parsed = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
		json_tokener_free(tok);
		if (parsed == NULL)
			return NULL;
		schema = parsed;
	}
	memset(&c, 0, sizeof(c));
	c.d = d;
	c.root = schema;
	out = sc_schema(&c, schema, 0);
	if (out != NULL && c.nomem) {
		json_object_put(out);
		out = NULL;
	}
	/* tool parameters describe an object */
	if (out != NULL && sc_get(out, "type") == NULL &&
	    sc_get(out, "properties") != NULL &&
	    json_object_object_add(out, "type",
	    json_object_new_string("object")) != 0) {
		json_object_put(out);
		out = NULL;
	}
	json_object_put(parsed);
	return out;
}

/* tool's parameters replaced by their rewrite, where there are any */
static int
sc_tool(json_object *tool, const struct schema_dialect *d)
{
	json_object	*fn = sc_get(tool, "function"), *params, *n;

	if (fn == NULL)
		fn = tool;		/* the Responses API's flat tools */
	if ((params = sc_get(fn, "parameters")) == NULL)
		return 0;
	if ((n = schema_rewrite(params, d)) == NULL)
		return -1;
	if (json_object_object_add(fn, "parameters", n) != 0) {
		json_object_put(n);
		return -1;
	}
	return 0;
}

int
schema_rewrite_tools(json_object *tools, const struct schema_dialect *d)
{
	size_t	 i, n;

	if (!json_object_is_type(tools, json_type_array))
		return 0;
	n = json_object_array_length(tools);
	for (i = 0; i < n; i++)
		if (sc_tool(json_object_array_get_idx(tools, i), d) == -1)
			return -1;
	return 0;
}
