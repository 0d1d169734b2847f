#include "crypto_shims.h"

int atlas_crypto_bn_num_bytes(const BIGNUM *number) { return BN_num_bytes(number); }

long atlas_crypto_bio_mem_data(BIO *bio, const char **data) {
    char *pointer = NULL;
    long length = BIO_get_mem_data(bio, &pointer);
    *data = pointer;
    return length;
}

int atlas_crypto_pem_no_password(char *buffer, int size, int rwflag, void *userdata) {
    (void)buffer; (void)size; (void)rwflag; (void)userdata;
    return -1;
}
