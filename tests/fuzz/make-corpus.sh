#!/usr/bin/env bash
# Regenerate the seed corpus of the fuzz harnesses: tests/fuzz/corpus/<name>/.
#
#   tests/fuzz/make-corpus.sh [BUILD_DIR]     (default build/)
#
# Objects and descriptors come from walship's own writers (the
# fuzz_make_corpus program of BUILD_DIR, built here); tar archives from GNU
# tar in the ustar, pax and gnu formats, as PostgreSQL's BASE_BACKUP sends
# them (directories, files, the pg_tblspc/<oid> symbolic link) plus the
# long-name forms; the XML, JSON and configuration seeds are written below.
# The corpus is committed: rerun this only to change the seeds.  Inputs
# that once made a harness fail are kept beside them as regression seeds
# (regress-<what>), by hand.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
out=$src/tests/fuzz/corpus

cmake --build "$build" -j2 --target fuzz_make_corpus >/dev/null
# files are overwritten, never removed: inputs kept from a crash stay
mkdir -p "$out"
"$build/fuzz_make_corpus" "$out"

# ---- tar: tar_extract and tar_split -----------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(
    cd "$tmp"
    mkdir -p tree/global tree/base/1 tree/pg_tblspc
    printf '15\n' > tree/PG_VERSION
    head -c 700 /dev/zero | tr '\0' 'x' > tree/global/pg_control
    printf 'data' > tree/base/1/1259
    : > tree/base/1/empty
    ln -s /srv/pg/ts_archive tree/pg_tblspc/16385
    long=tree/base/$(printf 'd%.0s' {1..60})/$(printf 'f%.0s' {1..60})
    mkdir -p "$(dirname "$long")"
    printf 'long name\n' > "$long"
    ln -s "/srv/$(printf 'l%.0s' {1..120})" tree/pg_tblspc/16386
    chmod 0750 tree/base
    opts=(--owner=0 --group=0 --numeric-owner --mtime=@1796263200 --sort=name -b 1 -C tree)
    tar "${opts[@]}" --format=ustar -cf ustar.tar PG_VERSION global base/1 pg_tblspc/16385
    tar "${opts[@]}" --format=pax \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf pax.tar .
    tar "${opts[@]}" --format=gnu -cf gnu.tar .
    head -c 1024 /dev/zero > empty.tar
)
mkdir -p "$out/tar_extract" "$out/tar_split"
for t in ustar pax gnu empty; do
    cp "$tmp/$t.tar" "$out/tar_extract/$t.tar"
    cp "$tmp/$t.tar" "$out/tar_split/$t.tar"
done

# ---- S3 and STS XML -----------------------------------------------------------
mkdir -p "$out/s3_xml"
cat > "$out/s3_xml/list.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>main/wal/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><Contents><Key>main/wal/00000001/0000000100000000/000000010000000000000001</Key><LastModified>2026-11-24T13:06:11.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>2097152</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>main/odd &amp; &lt;key&gt; &#233;&#x1F600;&#13;</Key><LastModified>2026-11-24T13:06:12+00:00</LastModified><ETag>"x"</ETag><Size>0</Size></Contents></ListBucketResult>
XML
cat > "$out/s3_xml/error.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><Resource>/bucket/key</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>
XML
cat > "$out/s3_xml/multipart.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE x [ <!ENTITY e "never expanded"> ]>
<!-- a comment <Key>not this</Key> -->
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><Key><![CDATA[main/<cdata> & key]]></Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId><Empty/></InitiateMultipartUploadResult>
XML
cat > "$out/s3_xml/sts.xml" <<'XML'
<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2026-12-03T20:53:22Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>
XML

# ---- instance metadata credentials (JSON) -------------------------------------
mkdir -p "$out/s3_json"
cat > "$out/s3_json/imds.json" <<'JSON'
{
  "Code" : "Success",
  "LastUpdated" : "2026-12-03T14:53:22Z",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "ASIAIOSFODNN7EXAMPLE",
  "SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "Token" : "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
  "Expiration" : "2026-12-03T20:53:22Z"
}
JSON
printf '{"Nested":{"a":[1,{"b":"}"},[]],"c":null},"Code":"Success","Esc":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","AccessKeyId":"AKID","caf\\u00e9":"x","SecretAccessKey":"s","Token":"","Expiration":"2026-12-03T20:53:22.123+00:00"}' \
    > "$out/s3_json/escapes.json"
printf '{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role","LastUpdated":"2026-12-03T14:53:22Z"}' \
    > "$out/s3_json/failure.json"

# ---- configuration files -------------------------------------------------------
mkdir -p "$out/cfg"
cat > "$out/cfg/basic.conf" <<'CONF'
# /etc/walship.conf
repo = '/backups/walship/main'
compression = zstd
encryption = aes-256-gcm
encryption_passphrase_file = '/etc/walship/passphrase'   # mode 0600
CONF
cat > "$out/cfg/quoting.conf" <<'CONF'
REPO "s3://bucket/prefix"
s3_region = eu-west-1
s3_endpoint='http://127.0.0.1:9000'
compression_level = -3
compression = gzip#comment
encryption_passphrase = 'it''s \'secret\' \n\t "x"'
log_level = debug
retry_attempts = 5
retry_delay_ms=250
s3_part_size = 16MB
backup_part_size 1GB
s3_verify_tls = off
pgdata = ''
	encryption_key_cache = off
CONF
echo "corpus written to $out:"
for d in "$out"/*/; do printf '  %-12s %s files\n' "$(basename "$d")" "$(ls "$d" | wc -l)"; done
