# Shared by the fetch scripts: put a set of files, named with their SHA-256 in a committed
# checksum file, into a directory, copying them from a local directory or downloading them.
# Every file is verified; a file already present and correct is left alone (idempotent).

# verify FILE SHA256 → 0 if the file exists and has that checksum.
verify() {
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# download URL OUT → 0 on success. Prints nothing; the caller reports.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --connect-timeout 10 --max-time 600 \
            --retry 2 --output "$2" "$1" 2>/dev/null
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --timeout=10 --tries=2 --output-document="$2" "$1"
    else
        echo "fetch: neither curl nor wget is installed" >&2
        return 1
    fi
}

# copy_verified NAME SHA SOURCE_DIR DEST_DIR → copies NAME and checks it.
copy_verified() {
    local name=$1 sum=$2 source=$3 dest=$4
    if [ ! -f "$source/$name" ]; then
        echo "fetch: $source/$name: not found (expected the original file from the data set)" >&2
        return 1
    fi
    if ! verify "$source/$name" "$sum"; then
        echo "fetch: $source/$name: SHA-256 mismatch (expected $sum, found $(sha256sum "$source/$name" | cut -d' ' -f1))" >&2
        return 1
    fi
    cp "$source/$name" "$dest/.$name.part"
    mv "$dest/.$name.part" "$dest/$name"
}
