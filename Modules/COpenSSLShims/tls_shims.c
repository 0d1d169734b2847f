#include "COpenSSLShims.h"
#include <openssl/crypto.h>

void atlas_openssl_free(void *pointer) { OPENSSL_free(pointer); }

long atlas_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

long atlas_ssl_ctx_set_nonblocking_modes(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

long atlas_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
