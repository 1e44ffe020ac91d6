/*
 * schema: tool parameter schemas (JSON Schema, as Anthropic clients write
 * them: 2020-12 with $schema, $ref, const, propertyNames ...) rewritten
 * into the subset a strict upstream accepts, by dialect.
 */
#ifndef CP_SCHEMA_H
#define CP_SCHEMA_H

#include <json-c/json.h>

struct schema_dialect;

/* the dialect a provider names ("gemini"), or NULL if there is none */
const struct schema_dialect *schema_dialect(const char *name);
/* every dialect's name, NULL-terminated: for config checks and docs */
extern const char *const schema_dialect_names[];

/*
 * A new schema that says what schema says, in d's subset: keywords d
 * rejects are left out or rewritten into ones it takes (see schema.c),
 * and the result is still a valid schema (required names only properties
 * there are, no empty enum or anyOf). schema may be the text jsonparse
 * keeps for tool schemas (jsonparse_is_opaque). NULL when memory runs out.
 */
json_object *schema_rewrite(json_object *schema, const struct schema_dialect *);

/*
 * The parameters of every function tool of an upstream request's tools
 * array, Chat Completions' ({"function":{"parameters"}}) or the Responses
 * API's ({"parameters"}), replaced by their rewrite. -1 when memory runs
 * out (tools then partly rewritten, each tool still whole).
 */
int	 schema_rewrite_tools(json_object *tools, const struct schema_dialect *);

#endif
