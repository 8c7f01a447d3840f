#include <stdint.h>
#include <sys/uio.h>

#include <conclave/client-runtime.h>

cs_error_t cv_iovec_total(const struct iovec *iovec, unsigned int count, size_t *total)
{
	*total = 0;
	for (unsigned int i = 0; i < count; i++) {
		if (iovec[i].iov_base == NULL && iovec[i].iov_len != 0)
			return CS_ERR_INVALID_PARAM;
		if (iovec[i].iov_len > SIZE_MAX - 1 - *total)
			return CS_ERR_TOO_BIG;
		*total += iovec[i].iov_len;
	}
	return CS_OK;
}

size_t cv_iovec_length(const struct iovec *iovec, size_t count)
{
	size_t total = 0;

	(void)cv_iovec_total(iovec, (unsigned int)count, &total);
	return total;
}
