"""Where the lab folder is: the folder with the kit's Vagrantfile, which the
guest sees as /vagrant. The checker, the replay and the Vagrant transport all
find it the same way, from the folder the command was run in."""

from pathlib import Path


def nearest_vagrantfile_folder(start):
    """start or the nearest folder above it that holds a Vagrantfile, or None."""
    here = Path(start).resolve()
    return next((folder for folder in [here, *here.parents] if (folder / "Vagrantfile").is_file()), None)


def find_lab_root(given):
    """The lab folder: as given, else the nearest folder above with a Vagrantfile, else the current one."""
    if given is not None:
        return given.resolve()
    return nearest_vagrantfile_folder(Path.cwd()) or Path.cwd().resolve()
