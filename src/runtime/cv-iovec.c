#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

cs_error_t cv_iovec_gather(const struct iovec *iovec, size_t count, uint8_t **data, size_t *length,
			   uint8_t **gathered)
{
	size_t offset = 0;
	cs_error_t err;

	*data = NULL;
	*gathered = NULL;
	if (count > UINT_MAX)
		return CS_ERR_INVALID_PARAM;
	err = cv_iovec_total(iovec, (unsigned int)count, length);
	if (err != CS_OK || *length == 0)
		return err;
	if (count == 1) {
		*data = iovec[0].iov_base;
		return CS_OK;
	}
	*gathered = malloc(*length);
	if (*gathered == NULL)
		return CS_ERR_NO_MEMORY;
	for (size_t i = 0; i < count; i++) {
		if (iovec[i].iov_len != 0)
			memcpy(*gathered + offset, iovec[i].iov_base, iovec[i].iov_len);
		offset += iovec[i].iov_len;
	}
	*data = *gathered;
	return CS_OK;
}
