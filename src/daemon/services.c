/* Which services run: each built-in service (generated/services.c) reads
 * its own settings and is offered unless they turn it off; offered services
 * start in the order of their numbers and stop in the reverse. */
#include <stdio.h>

#include "cv-daemon.h"
#include "cv-log.h"

static int configure(const struct cv_server_service *service, const struct cv_conf *conf, char *err,
		     size_t err_size)
{
	const struct cv_service_ops *ops = service->ops;
	int r = ops && ops->configure ? ops->configure(conf, err, err_size) : CV_SERVICE_OFFERED;

	if (r == CV_SERVICE_NOT_OFFERED) {
		cv_log_debug("service %s is not offered: the configuration turns it off", service->name);
		return 0;
	}
	if (r != CV_SERVICE_OFFERED)
		return -1;
	if (cv_server_add_service(service) < 0) {
		snprintf(err, err_size, "conclaved: error: cannot offer service %s", service->name);
		return -1;
	}
	return 0;
}

int cv_services_configure(const struct cv_conf *conf, char *err, size_t err_size)
{
	for (size_t i = 0; cv_builtin_services[i]; i++)
		if (configure(cv_builtin_services[i], conf, err, err_size) < 0)
			return -1;
	return 0;
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
