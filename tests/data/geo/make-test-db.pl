#!/usr/bin/perl
# Writes a small GeoIP2-Country-shaped MaxMind DB for sipedge's tests (libmaxmind-db-writer-perl).
# Usage: make-test-db.pl OUT.mmdb NETWORK=CC [NETWORK=CC ...]
#   e.g. make-test-db.pl /tmp/geo.mmdb 127.0.0.0/25=US 127.0.0.128/25=DE ::1/128=FR
# Reserved networks (loopback, documentation ranges) are kept: the tests run on loopback.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

die "usage: $0 OUT.mmdb NETWORK=CC...\n" if @ARGV < 2;
my $out = shift @ARGV;
my %types = (
    country  => 'map',
    iso_code => 'utf8_string',
    names    => 'map',
    en       => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => 'sipedge-Test-Country',
    languages                => ['en'],
    description              => { en => 'sipedge test GeoIP database' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,
);
for my $arg (@ARGV) {
    my ($network, $cc) = $arg =~ /^([0-9a-fA-F:.]+\/\d+)=([A-Z]{2})$/
        or die "$0: bad argument '$arg' (expected NETWORK/PREFIX=CC)\n";
    $tree->insert_network($network, { country => { iso_code => $cc, names => { en => $cc } } });
}
open my $fh, '>:raw', $out or die "$0: $out: $!\n";
$tree->write_tree($fh);
close $fh or die "$0: $out: $!\n";
