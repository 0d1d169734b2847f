# Installs what Atlas needs on Debian when it is missing. Sourced by scripts/run.sh and scripts/test.sh.
# Swift 6 itself is a prerequisite (it is not in Debian's archive); everything else comes from apt/pip.

atlas_sudo() {
    if [ "$(id -u)" -eq 0 ]; then echo ""; return 0; fi
    if command -v sudo >/dev/null 2>&1; then echo sudo; return 0; fi
    echo "atlas: need root (or sudo) to install packages" >&2
    return 1
}

# atlas_apt_install PACKAGE... : installs the packages that dpkg does not list as installed.
atlas_apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo
    sudo=$(atlas_sudo) || return 1
    echo "atlas: installing ${missing[*]}" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

atlas_require_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "atlas: the Swift 6 toolchain is required (https://www.swift.org/install/linux/); swift is not on PATH" >&2
        return 1
    fi
}

# The system packages for building and running Atlas with a private PostgreSQL.
atlas_install_runtime_deps() {
    atlas_apt_install libpq-dev libssl-dev pkg-config postgresql ca-certificates
}

# Extra tools the test suite drives as real clients (curl, Python h11/requests/pyjwt, openssl), and
# openapi-spec-validator, which OpenAPITests runs on every generated document, and schemathesis, which
# APIConformanceTests runs against a real server (bench/api_conformance.py), and openapi-python-client, whose
# generated Commerce client GeneratedClientTests drives (bench/generated_client.py).
atlas_install_test_deps() {
    atlas_install_runtime_deps || return 1
    atlas_apt_install curl python3 python3-pip openssl || return 1
    local want=()
    python3 -c 'import h11' 2>/dev/null || want+=(h11)
    python3 -c 'import requests' 2>/dev/null || want+=(requests)
    python3 -c 'import jwt' 2>/dev/null || want+=(pyjwt)
    python3 -c 'import cryptography' 2>/dev/null || want+=(cryptography)
    python3 -c 'import standardwebhooks' 2>/dev/null || want+=(standardwebhooks)
    python3 -c 'import websockets' 2>/dev/null || want+=(websockets)
    python3 -c 'import openapi_spec_validator' 2>/dev/null || want+=(openapi-spec-validator)
    command -v st >/dev/null 2>&1 && python3 -c 'import schemathesis' 2>/dev/null || want+=(schemathesis)
    command -v openapi-python-client >/dev/null 2>&1 || want+=(openapi-python-client)
    [ ${#want[@]} -eq 0 ] && return 0
    echo "atlas: pip installing ${want[*]}" >&2
    python3 -m pip install -q "${want[@]}" >&2 \
        || python3 -m pip install -q --break-system-packages "${want[@]}" >&2
}
