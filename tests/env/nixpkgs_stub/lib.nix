# The part of nixpkgs' lib that flake.nix uses, with the same names and meanings.
rec {
  genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);

  optionalAttrs = condition: attrs: if condition then attrs else { };
  optionalString = condition: string: if condition then string else "";

  concatStringsSep = builtins.concatStringsSep;
  replaceStrings = builtins.replaceStrings;
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
  escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
  makeLibraryPath = packages: concatStringsSep ":" (map (package: "${package}/lib") packages);

  versions = {
    major = version: builtins.elemAt (builtins.splitVersion version) 0;
    majorMinor =
      version:
      let
        parts = builtins.splitVersion version;
      in
      "${builtins.elemAt parts 0}.${builtins.elemAt parts 1}";
  };
}
