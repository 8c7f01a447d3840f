/* The monitor service's wire (monitor.proto): its name, version and the
 * kinds of frame a record describes. */
#ifndef CONCLAVE_CV_MONITOR_H
#define CONCLAVE_CV_MONITOR_H

#define CV_MONITOR_SERVICE "conclave_monitor"
#define CV_MONITOR_VERSION_MAJOR 1
#define CV_MONITOR_VERSION_MINOR 0
#define CV_MONITOR_EVENT_RECORD 0

enum cv_monitor_kind {
	CV_MONITOR_REQUEST = 1,
	CV_MONITOR_REPLY = 2,
	CV_MONITOR_EVENT = 3,
};

#endif
