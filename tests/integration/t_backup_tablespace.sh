# t_backup_tablespace.sh — base backups of a cluster with a tablespace:
# walship-basebackup stores the tablespace as its own archive
# (backups/<id>/<oid>.tar.N); walship-recover -T OLD=NEW (and -T OID=NEW)
# relocates it, the pg_tblspc/<oid> link points to NEW, and the data is
# readable after start.  Without -T, a recovery whose tablespace location is
# in use (not empty) is refused and leaves nothing behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

bk_setup
SRC=$T/src
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = zstd" "pg_conninfo = '$(bk_conninfo "$SRC")'"
bk_init_src "$SRC"

TS_OLD=$T/ts_old
mkdir "$TS_OLD" && give_pg "$TS_OLD" && chmod 700 "$TS_OLD"
sql "$SRC" "create tablespace tsp location '$TS_OLD'"
sql "$SRC" "select oid from pg_tablespace where spcname = 'tsp'"; OID=$Q
sql "$SRC" "create table tt (id int primary key, v text) tablespace tsp;
    insert into tt select g, md5(g::text) from generate_series(1, 20000) g;
    create table main_t as select g from generate_series(1, 1000) g"
sql "$SRC" "select pg_relation_filepath('tt')"
check "[[ '$Q' == pg_tblspc/$OID/* ]]" "table tt lives in tablespace $OID ($Q)"
bk_switch_wait "$SRC"

bk_backup -c fast
check_rc 0 "walship-basebackup of a cluster with a tablespace"
ID=$BK_ID
check "[ -s '$BK_REPO/backups/$ID/$OID.tar.0' ] && [ -s '$BK_REPO/backups/$ID/base.tar.0' ]" \
    "the backup has $OID.tar.0 beside base.tar.0"
check "[ -s '$BK_REPO/backups/$ID/backup.info' ]" "the backup is complete"
sql "$SRC" "insert into tt select g, 'after the backup' from generate_series(20001, 21000) g"
sql "$SRC" "select count(*) || ':' || md5(string_agg(id || v, ',' order by id)) from tt"; SNAP=$Q
bk_switch_wait "$SRC"
pg_stop "$SRC"     # so that its tablespace directory stays as it is
SIG_OLD=$(tree_sig "$TS_OLD")

info "recover with -T $TS_OLD=$T/ts_new"
TS_NEW=$T/ts_new
bk_recover "$T/rec1" -T "$TS_OLD=$TS_NEW"
check_rc 0 "walship-recover -T OLD=NEW"
link=$(readlink "$T/rec1/pg_tblspc/$OID")
check "[ -L '$T/rec1/pg_tblspc/$OID' ] && [ '$link' = '$TS_NEW' ]" "pg_tblspc/$OID -> $TS_NEW ($link)"
check "ls -d '$TS_NEW'/PG_${PG_MAJOR}_* > /dev/null 2>&1" "the tablespace's PG_${PG_MAJOR}_* directory is in $TS_NEW"
check "[ \"\$(stat -c %U '$TS_NEW')\" = \"\$(as_pg id -un)\" ]" "$TS_NEW belongs to the PostgreSQL user"
check "[ '$(tree_sig "$TS_OLD")' = '$SIG_OLD' ]" "the original tablespace directory was not touched"
check "[ ! -s '$T/rec1/tablespace_map' ] || ! grep -qF '$TS_OLD' '$T/rec1/tablespace_map'" \
    "no tablespace_map pointing at the old location"
if bk_verify "$T/rec1"; then
    pass "pg_verifybackup -n accepts the recovered directory with the relocated tablespace"
else
    cat "$T/verify.out"; fail "pg_verifybackup -n on $T/rec1"
fi
bk_start "$T/rec1"
wait_not_in_recovery "$T/rec1"
sql "$T/rec1" "select count(*) || ':' || md5(string_agg(id || v, ',' order by id)) from tt"
check "[ '$Q' = '$SNAP' ]" "tt in the relocated tablespace holds every archived row ($Q)"
sql "$T/rec1" "select pg_tablespace_location($OID)"
check "[ '$Q' = '$TS_NEW' ]" "pg_tablespace_location($OID) = $TS_NEW after start"
check "[ \"\$(readlink '$T/rec1/pg_tblspc/$OID')\" = '$TS_NEW' ]" "the link still points to $TS_NEW after start"
sql "$T/rec1" "insert into tt values (30000, 'written into the relocated tablespace')"
pass "the relocated tablespace accepts writes"
pg_stop "$T/rec1"
check "[ '$(tree_sig "$TS_OLD")' = '$SIG_OLD' ]" "the original tablespace is still untouched"

info "recover with -T $OID=$T/ts_byoid (the tablespace named by its OID)"
bk_recover "$T/rec2" -T "$OID=$T/ts_byoid" --immediate
check_rc 0 "walship-recover -T OID=NEW"
link=$(readlink "$T/rec2/pg_tblspc/$OID")
check "[ '$link' = '$T/ts_byoid' ] && ls -d '$T/ts_byoid'/PG_${PG_MAJOR}_* > /dev/null 2>&1" \
    "pg_tblspc/$OID -> $T/ts_byoid, with the data there"

info "-T into a non-empty directory"
mkdir "$T/ts_busy" && echo keep > "$T/ts_busy/precious" && give_pg "$T/ts_busy"
SIG_BUSY=$(tree_sig "$T/ts_busy")
bk_recover "$T/rec3" -T "$TS_OLD=$T/ts_busy"
check "[ '$RC' = 10 ] || [ '$RC' = 2 ]" "walship-recover -T into a non-empty directory fails (exit $RC, 10 or 2)"
check "grep -qF '$T/ts_busy' '$T/run.err'" "the message names $T/ts_busy"
check "absent_or_empty '$T/rec3'" "nothing left in the target data directory"
check "[ '$(tree_sig "$T/ts_busy")' = '$SIG_BUSY' ]" "the non-empty tablespace directory is unchanged"

info "no -T while the original location is in use (not empty)"
bk_recover "$T/rec4"
check "[ '$RC' = 10 ] || [ '$RC' = 2 ]" "walship-recover without -T, the tablespace location not empty (exit $RC, 10 or 2)"
check "grep -qF '$TS_OLD' '$T/run.err' && grep -qiE 'not empty|non-empty|exists|in use' '$T/run.err'" \
    "the message names $TS_OLD and says it is not empty"
check "absent_or_empty '$T/rec4'" "nothing left in the target data directory"
check "[ '$(tree_sig "$TS_OLD")' = '$SIG_OLD' ]" "the original tablespace (still in use) is unchanged"
info "-T naming no tablespace of the backup, -T with a relative NEWDIR"
bk_recover "$T/rec5" -T "$T/no_such_tablespace=$T/ts_x" -T "$TS_OLD=$T/ts_y"
check_rc 2 "walship-recover -T <not a tablespace of the backup>=NEW"
check "grep -qF '$T/no_such_tablespace' '$T/run.err'" "the message names the unknown OLDDIR"
check "absent_or_empty '$T/rec5' && [ ! -e '$T/ts_x' ] && [ ! -e '$T/ts_y' ]" "nothing left behind"
bk_recover "$T/rec5" -T "$TS_OLD=relative/ts"
check_rc 2 "walship-recover -T OLD=<relative path>"
check "absent_or_empty '$T/rec5' && [ ! -e '$T/relative' ]" "nothing left behind"

info "a corrupted tablespace archive: the relocated tablespace directory is removed again"
cp -a "$BK_REPO" "$T/repo_bad"
f=$T/repo_bad/backups/$ID/$OID.tar.0
flip_byte "$f" $(( $(file_size "$f") / 2 ))
bk_recover "$T/rec6" --repo="$T/repo_bad" -T "$TS_OLD=$T/ts_fail"
check_rc 4 "walship-recover with a corrupted $OID.tar.0 (corrupt)"
check "grep -qF '$OID.tar.0' '$T/run.err'" "the message names $OID.tar.0"
check "absent_or_empty '$T/rec6'" "nothing left in the target data directory"
check "absent_or_empty '$T/ts_fail'" "nothing left in the new tablespace directory"

pg_start "$SRC"
sql "$SRC" "select count(*) from tt"
check "[ '$Q' = 21000 ]" "the source still reads its tablespace"

ws_summary
