#include <errno.h>

#include "cv-errno.h"

cs_error_t cv_errno_to_cs(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
		return CS_ERR_NO_RESOURCES;
	case ENOMEM:
	case ENOBUFS:
		return CS_ERR_NO_MEMORY;
	case EACCES:
	case EPERM:
		return CS_ERR_ACCESS;
	case EAGAIN:
		return CS_ERR_TRY_AGAIN;
	default:
		return CS_ERR_LIBRARY;
	}
}
