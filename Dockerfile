# Alpine's Rust targets musl and links statically by default, so the binary
# runs on `scratch`. The image already has gcc and musl-dev, all that aws-lc-sys
# (rustls' crypto in the AWS SDK) and ring need on x86_64/aarch64: they ship
# pregenerated bindings and assembly, so no cmake, perl, clang or nasm.
FROM rust:1.95-alpine3.23 AS build
WORKDIR /src

# Dependencies first, against a stub crate, so that editing the sources
# reuses the cached layer with every dependency already compiled.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && cargo build --release --locked \
    && rm -rf src

COPY src ./src
# The stub's fingerprint can be newer than the copied sources (COPY keeps
# their mtimes), and cargo would then ship the stub: drop it.
RUN rm -rf target/release/.fingerprint/greenlight-* \
    && cargo build --release --locked

# No shell, no package manager: only the binary and the CA bundle it needs to
# reach AWS and GitHub over TLS (rustls reads the system roots).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/target/release/greenlight /usr/local/bin/greenlight
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# No USER: GitHub runs Docker actions as root and mounts the workspace and the
# GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files owned by root; another user could not
# write them. No WORKDIR either: the runner sets it to GITHUB_WORKSPACE.
ENTRYPOINT ["/usr/local/bin/greenlight"]
