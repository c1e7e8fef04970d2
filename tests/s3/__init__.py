"""Tests of the S3 blob store against a real S3 server (Ceph RGW), started by scripts/rgw.sh."""
