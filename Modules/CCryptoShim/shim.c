#include "CCryptoShim.h"
#include <openssl/crypto.h>

void atlas_openssl_free(void *pointer) { OPENSSL_free(pointer); }

long atlas_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}
