#include <stdbool.h>
#include <stddef.h>

#include "cv-conf-usage.h"

struct walk {
	cv_conf_unused_fn fn;
	void *data;
	unsigned count;
};

static int check_key(const char *path, const struct cv_conf_node *key, void *data)
{
	struct walk *w = data;

	if (!key->used) {
		w->count++;
		w->fn(path, key, w->data);
	}
	return 0;
}

unsigned cv_conf_for_each_unused_key(const struct cv_conf *conf, cv_conf_unused_fn fn, void *data)
{
	struct walk w = { fn, data, 0 };

	if (conf)
		cv_conf_for_each_key(conf, check_key, &w);
	return w.count;
}
