# t_recover_durable.sh — walship-recover leaves nothing that a crash right
# after its exit 0 could lose.  A backup of a cluster with a tablespace, its
# base archive split into several parts (backup_part_size = 16MB; no
# compression, so that the last part, the smallest, is restored last), is
# restored under strace, with -j 1 (the parts one after the other) and -j 2.
# From the trace (every creation, rename,
# removal, write and mode or time change, every fsync), each directory of the
# restored data directory and of the relocated tablespace, and the directory
# holding each of them, must be fsynced after the last entry was created,
# renamed or removed in it (global/ after global/pg_control, which comes in
# the last part, while global/ itself comes in the first); each file after
# its last write; each file and directory after its last mode or time change.
# A syncfs(2) on the same filesystem after the last event also counts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/backuplib.sh"

STRACE=/usr/bin/strace

bk_setup
[ -x "$STRACE" ] || skip "strace is not installed at $STRACE (apt-get install strace)"
as_pg "$STRACE" -f -o /dev/null true > /dev/null 2>&1 ||
    skip "strace cannot trace here (ptrace not permitted)"
command -v perl > /dev/null || skip "perl is not installed (it reads the trace)"

SRC=$T/src
bk_write_conf "$WS_CONF" "$BK_REPO" "compression = none" "backup_part_size = 16MB" \
    "pg_conninfo = '$(bk_conninfo "$SRC")'"
bk_init_src "$SRC"
TS_OLD=$T/ts_old
mkdir "$TS_OLD" && give_pg "$TS_OLD" && chmod 700 "$TS_OLD"
sql "$SRC" "create tablespace tsp location '$TS_OLD'"
sql "$SRC" "create table tt tablespace tsp as select g, md5(g::text) v from generate_series(1, 20000) g"
bk_pgbench_init "$SRC" 3
bk_switch_wait "$SRC"
bk_backup -c fast
check_rc 0 "walship-basebackup of a cluster with a tablespace"
n=$(find "$BK_REPO/backups/$BK_ID" -name 'base.tar.*' | wc -l)
check "[ '$n' -ge 2 ]" "base.tar is split into $n parts (backup_part_size = 16MB)"
pg_stop "$SRC"

cat > "$T/durable.pl" << 'EOF'
# durable.pl LOG PATHS: the durability violations in an strace -f -y log.
use strict;
use warnings;

my ($log, $paths) = @ARGV;
my (%pending, %dirmod, %write, %meta, %sync, @syncfs, %created);
my $n = 0;

sub dirname_of { my $p = shift; $p =~ s{/[^/]*$}{}; return $p eq '' ? '/' : $p; }
sub join_at {
    my ($dir, $name) = @_;
    return $name if $name =~ m{^/};
    return "$dir/$name";
}

open(my $fh, '<', $log) or die "$log: $!";
while (my $line = <$fh>) {
    chomp $line;
    $n++;
    my ($pid, $rest) = $line =~ /^(\d+)\s+(.*)$/ or next;
    my ($start, $end) = ($n, $n);
    if ($rest =~ /^(.*) <unfinished \.\.\.>$/) {
        $pending{$pid} = [$1, $n];
        next;
    }
    if ($rest =~ /^<\.\.\. \w+ resumed>(.*)$/) {
        my $p = delete $pending{$pid} or next;
        $rest = $p->[0] . $1;
        $start = $p->[1];
    }
    my ($call, $args, $ret, $retpath) =
        $rest =~ /^(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<(.*)>)?(?:\s.*)?$/ or next;
    next if $ret < 0;
    # fd arguments look like 5</path>; AT_FDCWD</cwd>
    my @fds = ();
    while ($args =~ /(?:\d+|AT_FDCWD)<([^>]*)>/g) { push @fds, $1; }
    my @strs = ();
    while ($args =~ /"((?:[^"\\]|\\.)*)"/g) { push @strs, $1; }
    if ($call =~ /^(openat|open|creat)$/) {
        next unless $call eq 'creat' || $args =~ /O_CREAT/;
        my $p = $retpath // join_at($fds[0] // '', $strs[0]);
        $created{$p} = 1;
        push @{$dirmod{dirname_of($p)}}, [$end, "create $p"];
        $write{$p} = $end;
    } elsif ($call =~ /^(mkdirat|mkdir|symlinkat|symlink)$/) {
        my $p = $call eq 'mkdir' ? $strs[0]
            : $call eq 'mkdirat' ? join_at($fds[0], $strs[0])
            : $call eq 'symlinkat' ? join_at($fds[0], $strs[1])
            : $strs[1];
        $p = join_at($fds[0] // '', $p) unless $p =~ m{^/};
        push @{$dirmod{dirname_of($p)}}, [$end, "$call $p"];
        $meta{$p} = $end;
    } elsif ($call =~ /^(rename|renameat|renameat2)$/) {
        my ($from, $to) = $call eq 'rename' ? @strs[0, 1]
            : (join_at($fds[0], $strs[0]), join_at($fds[1], $strs[1]));
        push @{$dirmod{dirname_of($from)}}, [$end, "rename $from away"];
        push @{$dirmod{dirname_of($to)}}, [$end, "rename to $to"];
        $created{$to} = 1 if $created{$from};
        $write{$to} = $write{$from} if defined $write{$from};
        $meta{$to} = $meta{$from} if defined $meta{$from};
        push @{$sync{$to}}, @{$sync{$from} // []};    # the inode takes its syncs along
    } elsif ($call =~ /^(unlink|unlinkat|rmdir)$/) {
        my $p = $call eq 'unlinkat' ? join_at($fds[0], $strs[0]) : $strs[0];
        push @{$dirmod{dirname_of($p)}}, [$end, "remove $p"];
    } elsif ($call =~ /^(write|pwrite64|writev)$/) {
        $write{$fds[0]} = $end if @fds;
    } elsif ($call =~ /^(fchmod|fchmodat|chmod|utimensat)$/) {
        my $p;
        if ($call eq 'fchmod' || ($call eq 'utimensat' && $args =~ /^\d+<[^>]*>, NULL/)) {
            $p = $fds[0];
        } elsif ($call eq 'chmod') {
            $p = $strs[0];
        } else {
            $p = join_at($fds[0], $strs[0]);
        }
        $meta{$p} = $end if defined $p;
    } elsif ($call =~ /^(fsync|fdatasync)$/) {
        push @{$sync{$fds[0]}}, $start if @fds;
    } elsif ($call eq 'syncfs') {
        push @syncfs, $start;
    }
}
close($fh);

# Durable if fsynced (or a syncfs ran) after line $after.
sub synced_after {
    my ($p, $after) = @_;
    for my $s (@{$sync{$p} // []}, @syncfs) {
        return 1 if $s > $after;
    }
    return 0;
}

my @bad;
my $checked = 0;
open(my $ph, '<', $paths) or die "$paths: $!";
while (my $l = <$ph>) {
    chomp $l;
    my ($kind, $p) = $l =~ /^(\w) (.*)$/ or next;
    $checked++;
    if ($kind eq 'D') {
        my $last = 0;
        my $what = '';
        for my $m (@{$dirmod{$p} // []}) {
            ($last, $what) = @$m if $m->[0] > $last;
        }
        push @bad, "directory $p: not fsynced after line $last ($what)"
            if $last && !synced_after($p, $last);
    } else {
        my $w = $write{$p};
        push @bad, "file $p: not fsynced after its last write (line $w)"
            if defined $w && !synced_after($p, $w);
        push @bad, "file $p: never created in the trace" unless $created{$p};
    }
    my $m = $meta{$p};
    push @bad, "$p: not fsynced after its last mode or time change (line $m)"
        if defined $m && !synced_after($p, $m);
}
close($ph);
print "$_\n" for @bad;
print STDERR "checked $checked paths, " . scalar(@bad) . " violation(s)\n";
exit(@bad ? 1 : 0);
EOF

# recover_traced JOBS: walship-recover -j JOBS under strace into $T/rec_jJOBS
# and $T/ts_jJOBS (neither exists: walship-recover creates both), then the
# trace is checked.  With -j 1 the parts come one after the other, biggest
# first: the first holds global/, the last global/pg_control.
recover_traced() {
    local j=$1 rec=$T/rec_j$1 ts=$T/ts_j$1 log=$T/strace_j$1.log prc
    info "walship-recover -j $j under strace"
    run as_pg "$STRACE" -f -y -qq -o "$log" \
        -e trace=openat,open,creat,mkdirat,mkdir,symlinkat,symlink,rename,renameat,renameat2,unlink,unlinkat,rmdir,write,pwrite64,writev,fchmod,fchmodat,chmod,utimensat,fsync,fdatasync,syncfs \
        "$WS_RECOVER" --config="$WS_CONF" -D "$rec" -j "$j" -T "$TS_OLD=$ts" --immediate --no-progress
    check_rc 0 "walship-recover -j $j -T under strace"
    check "[ -f '$rec/global/pg_control' ] && [ -f '$rec/recovery.signal' ] && [ -s '$rec/backup_manifest' ]" \
        "the restored directory has global/pg_control, recovery.signal and backup_manifest"
    if bk_verify "$rec"; then
        pass "pg_verifybackup -n accepts the restored directory"
    else
        cat "$T/verify.out"; fail "pg_verifybackup -n on $rec"
    fi
    # what must be durable: every directory and file of both trees (find does
    # not follow pg_tblspc/<oid>), and $T, where both were created
    {
        echo "D $T"
        find "$rec" "$ts" -type d -printf 'D %p\n'
        find "$rec" "$ts" -type f -printf 'F %p\n'
    } > "$T/paths_j$j"
    perl "$T/durable.pl" "$log" "$T/paths_j$j" > "$T/violations_j$j" 2> "$T/durable.err"
    prc=$?
    [ "$prc" -le 1 ] || { cat "$T/durable.err"; fail "durable.pl could not read the trace"; }
    info "$(cat "$T/durable.err")"
    check "grep -qE 'openat\\([0-9]+<$rec/global>, \"pg_control\", [^)]*O_CREAT' '$log'" \
        "the trace shows global/pg_control being created (the trace is read right)"
    if [ -s "$T/violations_j$j" ]; then
        say "---- $(wc -l < "$T/violations_j$j") violation(s), the first 30:"
        head -n 30 "$T/violations_j$j"
    fi
    check "! grep -q '^directory $rec/global:' '$T/violations_j$j'" \
        "-j $j: global/ is fsynced after global/pg_control was created in it"
    check "[ ! -s '$T/violations_j$j' ]" \
        "-j $j: every directory and file of $rec and $ts (and $T) is fsynced after its last change"
}

recover_traced 1
recover_traced 2

ws_summary
