/* Which services run: each built-in service (generated/services.c), then
 * each loaded module's (modules.c), reads its own settings and is offered
 * unless they turn it off; offered services start in that order and stop in
 * the reverse. */
#include <stdio.h>
#include <stdlib.h>

#include "cv-daemon.h"
#include "cv-log.h"

/* Every service that read its settings, offered or not: each checks the
 * file a reload brings (one turned off may be turned on). */
static const struct cv_server_service **configured;
static size_t n_configured;

static int remember_configured(const struct cv_server_service *service)
{
	const struct cv_server_service **grown = realloc(configured,
							 (n_configured + 1) * sizeof(*configured));

	if (!grown)
		return -1;
	configured = grown;
	configured[n_configured++] = service;
	return 0;
}

int cv_services_offer(const struct cv_server_service *service, const struct cv_conf *conf, char *err,
		      size_t err_size)
{
	const struct cv_service_ops *ops = service->ops;
	int r = ops && ops->configure ? ops->configure(conf, err, err_size) : CV_SERVICE_OFFERED;

	if (r != CV_SERVICE_OFFERED && r != CV_SERVICE_NOT_OFFERED)
		return -1;
	if (remember_configured(service) < 0) {
		snprintf(err, err_size, "conclaved: error: out of memory");
		return -1;
	}
	if (r == CV_SERVICE_NOT_OFFERED) {
		cv_log_debug("service %s is not offered: the configuration turns it off", service->name);
		return r;
	}
	if (cv_server_add_service(service) < 0) {
		snprintf(err, err_size, "conclaved: error: cannot offer service %s", service->name);
		return -1;
	}
	return r;
}

int cv_services_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	for (size_t i = 0; cv_builtin_services[i]; i++)
		if (cv_services_offer(cv_builtin_services[i], conf, err, err_size) < 0)
			return -1;
	return 0;
}

int cv_services_check_reload(const struct cv_conf *next, char *err, size_t err_size)
{
	for (size_t i = 0; i < n_configured; i++) {
		const struct cv_service_ops *ops = configured[i]->ops;

		if (ops && ops->check_reload && ops->check_reload(next, err, err_size) < 0)
			return -1;
	}
	return 0;
}

void cv_services_forget(void)
{
	free(configured);
	configured = NULL;
	n_configured = 0;
}

int cv_services_start(void)
{
	size_t n;
	const struct cv_server_service *const *services = cv_server_services(&n);

	for (size_t i = 0; i < n; i++) {
		const struct cv_service_ops *ops = services[i]->ops;

		if (ops && ops->start && ops->start() < 0) {
			cv_log_error("service %s failed to start", services[i]->name);
			return -1;
		}
	}
	return 0;
}

void cv_services_stop(void)
{
	size_t n;
	const struct cv_server_service *const *services = cv_server_services(&n);

	for (size_t i = n; i-- > 0;) {
		const struct cv_service_ops *ops = services[i]->ops;

		if (ops && ops->stop)
			ops->stop();
	}
}
