/**
 * Byte vectors produced by the real Ruby (3.1.2, RubyGems 3.3.15), checked in so the format tests
 * run without Ruby. Regenerate with:
 *
 *   ruby -e 'puts Marshal.dump([["sr-app", Gem::Version.new("1.0.0"), "ruby"],
 *     ["sr-base", Gem::Version.new("1.1.0.rc1"), "ruby"],
 *     ["sr-native", Gem::Version.new("2.0.0"), "x86_64-linux"]]).unpack1("H*")'
 *   ruby -e 'puts Marshal.dump([]).unpack1("H*")'
 *   ruby -e 'puts Marshal.dump([{name: "sr-app", number: "1.0.0", platform: "ruby",
 *     dependencies: [["sr-base", ">= 1.0, < 2"]]}, {name: "sr-base", number: "1.1.0",
 *     platform: "ruby", dependencies: []}]).unpack1("H*")'
 *   ruby -e 'puts Marshal.dump([-1, 0, 1, 122, 123, -123, -124, 255, 256, 65536, -256, -257,
 *     1_000_000, -1_000_000, nil, true, false, "ü"]).unpack1("H*")'
 *
 * Each string and Gem::Version is a distinct object there, as in our output (no object links).
 */
export const RUBY_SPEC_TUPLES_HEX =
  '04085b085b0849220b73722d617070063a064554553a1147656d3a3a56657273696f6e5b0649220a312e302e30063b005449220972756279063b00545b0849220c73722d62617365063b0054553b065b0649220e312e312e302e726331063b005449220972756279063b00545b0849220e73722d6e6174697665063b0054553b065b0649220a322e302e30063b00544922117838365f36342d6c696e7578063b0054';
export const RUBY_EMPTY_ARRAY_HEX = '04085b00';
export const RUBY_DEPENDENCIES_HEX =
  '04085b077b093a096e616d6549220b73722d617070063a0645543a0b6e756d62657249220a312e302e30063b06543a0d706c6174666f726d49220972756279063b06543a11646570656e64656e636965735b065b0749220c73722d62617365063b06544922103e3d20312e302c203c2032063b06547b093b0049220c73722d62617365063b06543b0749220a312e312e30063b06543b0849220972756279063b06543b095b00';
export const RUBY_SCALARS_HEX =
  '04085b1769fa69006906697f69017b698069ff846901ff69020001690300000169ff0069fefffe690340420f69fdc0bdf0305446492207c3bc063a064554';

/** metadata.gz YAML as `gem build` writes it (trimmed to the fields we read and a few we ignore). */
export const GEMSPEC_YAML = `--- !ruby/object:Gem::Specification
name: alpha
version: !ruby/object:Gem::Version
  version: 1.0.0
platform: x86_64-linux
authors:
- x
bindir: bin
cert_chain: []
date: 2026-12-01 00:00:00.000000000 Z
dependencies:
- !ruby/object:Gem::Dependency
  name: beta
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '1.0'
    - - "<"
      - !ruby/object:Gem::Version
        version: '2'
  type: :runtime
  prerelease: false
  version_requirements: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '1.0'
- !ruby/object:Gem::Dependency
  name: rake
  requirement: !ruby/object:Gem::Requirement
    requirements:
    - - ">="
      - !ruby/object:Gem::Version
        version: '0'
  type: :development
  prerelease: false
licenses:
- MIT
metadata: {}
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '2.7'
required_rubygems_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
rubygems_version: 3.3.15
specification_version: 4
summary: s
test_files: []
`;

/**
 * specs.4.8, latest_specs.4.8 and prerelease_specs.4.8 (before gzip) of an index holding sr-app
 * 1.0.0 and 1.1.0, sr-base 2.0.0.rc1 and sr-native 2.0.0 (x86_64-linux), from:
 *
 *   ruby -e 't = ->(n, v, p) { [n.dup, Gem::Version.new(v), p.dup] }
 *     puts Marshal.dump([t["sr-app","1.0.0","ruby"], t["sr-app","1.1.0","ruby"], t["sr-native","2.0.0","x86_64-linux"]]).unpack1("H*")
 *     puts Marshal.dump([t["sr-app","1.1.0","ruby"], t["sr-native","2.0.0","x86_64-linux"]]).unpack1("H*")
 *     puts Marshal.dump([t["sr-base","2.0.0.rc1","ruby"]]).unpack1("H*")'
 */
export const RUBY_SPECS_HEX =
  '04085b085b0849220b73722d617070063a064554553a1147656d3a3a56657273696f6e5b0649220a312e302e30063b005449220972756279063b00545b0849220b73722d617070063b0054553b065b0649220a312e312e30063b005449220972756279063b00545b0849220e73722d6e6174697665063b0054553b065b0649220a322e302e30063b00544922117838365f36342d6c696e7578063b0054';
export const RUBY_LATEST_SPECS_HEX =
  '04085b075b0849220b73722d617070063a064554553a1147656d3a3a56657273696f6e5b0649220a312e312e30063b005449220972756279063b00545b0849220e73722d6e6174697665063b0054553b065b0649220a322e302e30063b00544922117838365f36342d6c696e7578063b0054';
export const RUBY_PRERELEASE_SPECS_HEX =
  '04085b065b0849220c73722d62617365063a064554553a1147656d3a3a56657273696f6e5b0649220e322e302e302e726331063b005449220972756279063b0054';
