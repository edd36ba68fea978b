# A stand-in for nixpkgs, small enough to keep in the tests: the attributes the project's flake.nix
# uses, with the versions (to the pinned precision) nixpkgs has at the revision flake.nix pins.
# Evaluating flake.nix against it (`--override-input nixpkgs path:<this folder>`) catches a typo
# in an attribute path, a missing system and a version that drifted from the pins, without
# fetching nixpkgs.
# Adding an attribute here means checking first that nixpkgs has it at the pinned revision.
{
  description = "nixpkgs stub for tests/env";

  outputs =
    { self }:
    let
      lib = import ./lib.nix;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs systems (system: import ./pkgs.nix { inherit lib system; });
    };
}
