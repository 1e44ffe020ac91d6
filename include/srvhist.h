/*
 * srvhist: the server tools' results a conversation holds (the
 * web_search_tool_result and web_fetch_tool_result blocks of its
 * messages), found by the call they answer, numbered for citations, and
 * rendered as the tool message text the upstream model reads.
 */
#ifndef CP_SRVHIST_H
#define CP_SRVHIST_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "srvtool.h"

#define SRVHIST_SNIPPET_MAX	2048	/* bytes of a result's excerpt kept */
#define SRVHIST_TITLE_MAX	512
#define SRVHIST_URL_MAX		2048
#define SRVHIST_CITED_MAX	150	/* characters of a citation's text */

/* one search result, numbered (1 + its index) across the conversation */
struct srvhist_source {
	char	*url;
	char	*title;
	char	*page_age;		/* NULL = unknown */
	char	*snippet;		/* "" = unknown */
	int	 verified;		/* its encrypted_content is ours */
};

/* one result block */
struct srvhist_result {
	const char	*id;		/* tool_use_id (the request's string) */
	json_object	*block;		/* borrowed */
	enum srvtool_kind kind;
	size_t		 first;		/* its sources: [first, first + n) */
	size_t		 nsources;
	int		 used;		/* placed after its call already */
};

struct srvhist {
	struct srvhist_result	*results;
	size_t			 nresults;
	struct srvhist_source	*sources;
	size_t			 nsources;
};

/* index the result blocks of messages (an array, or NULL); -1 = no memory */
int	 srvhist_init(struct srvhist *, json_object *messages);
void	 srvhist_free(struct srvhist *);
/* the first result block not yet used that answers call id, or NULL */
struct srvhist_result *srvhist_find(struct srvhist *, const char *id);
/* the entry of this very block, or NULL */
struct srvhist_result *srvhist_of_block(struct srvhist *, json_object *);
/* the text of a tool message carrying r; -1 = no memory */
int	 srvhist_render(const struct srvhist *, const struct srvhist_result *,
	    struct buf *out);

/* a web_search_result's encrypted_content: what the model saw of it */
int	 srvhist_seal_result(struct buf *out, const char *url,
	    const char *title, const char *page_age, const char *snippet);
/* ... read back into s (strings owned by s): 0, or -1 when it is not one
 * of ours (then s is empty) */
int	 srvhist_open_result(const char *enc, size_t len,
	    struct srvhist_source *s);
/* a citation's encrypted_index */
int	 srvhist_seal_index(struct buf *out, const char *url, size_t number);
void	 srvhist_source_free(struct srvhist_source *);

/*
 * May url be fetched, having appeared in the conversation? In the user's
 * text (messages' text, tool results, documents, search results), in a
 * search result (its URL or excerpt) or in a fetched page (its URL or
 * text): 1 yes, 0 no. The assistant's own text does not count.
 */
int	 srvhist_url_seen(const struct srvhist *, json_object *messages,
	    const char *url);

#endif
