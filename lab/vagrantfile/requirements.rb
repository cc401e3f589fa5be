# The Vagrant version this host needs, checked when the Vagrantfile loads:
# before Vagrant looks for a provider, so a student with an old Vagrant reads
# one sentence naming the version to install, not "No usable default provider"
# or a list of VirtualBox versions. It also finds VirtualBox's VBoxManage, for
# this check and for the preflight's table.
require "rubygems"

module LabHost
  # Where Vagrant's VirtualBox driver looks for VBoxManage, in its order: PATH
  # (where the installer doesn't put it on Windows), then the folder(s) named
  # by VBOX_INSTALL_PATH or else VBOX_MSI_INSTALL_PATH (a ";"-separated list),
  # then VirtualBox's usual folders on Windows.
  def self.vboxmanage_commands
    folders = (ENV["VBOX_INSTALL_PATH"] || ENV["VBOX_MSI_INSTALL_PATH"]).to_s.split(";")
    if Gem.win_platform?
      drive = ENV.fetch("SYSTEMDRIVE", "C:")
      folders += ["#{drive}/Program Files/Oracle/VirtualBox", "#{drive}/Program Files (x86)/Oracle/VirtualBox"]
    end
    # VBoxManage.exe on Windows; VBoxManage elsewhere.
    found = folders.reject(&:empty?).product(%w[VBoxManage.exe VBoxManage]).map { |dir, exe| File.join(dir, exe) }
    ["VBoxManage"] + found.select { |path| File.file?(path) }
  end

  # The first line a command prints, or nil when it can't run or prints nothing.
  def self.command_version(*command)
    out = IO.popen(command, err: File::NULL, &:read).to_s.strip.lines.first.to_s.strip
    out.empty? ? nil : out
  rescue SystemCallError
    nil
  end

  # "7.1.4r165100" for VirtualBox 7.1.4, or nil when no VBoxManage answers.
  def self.virtualbox_version
    vboxmanage_commands.lazy.filter_map { |command| command_version(command, "--version") }.first
  end

  def self.arm64?
    RbConfig::CONFIG["host_cpu"].to_s.match?(/\A(arm64|aarch64)/)
  end

  # The architecture as boxes name it (`vagrant box add --architecture`).
  def self.box_architecture
    return "arm64" if arm64?

    RbConfig::CONFIG["host_cpu"].to_s.match?(/\A(x86_64|x64|amd64)/) ? "amd64" : RbConfig::CONFIG["host_cpu"].to_s
  end
end

module LabRequirements
  # The oldest Vagrant that knows each VirtualBox release: Vagrant's driver map
  # (plugins/providers/virtualbox/driver/meta.rb) gained 7.1 in 2.4.2 and 7.2
  # in 2.4.9 (its CHANGELOG.md); an older one calls VirtualBox unusable.
  VIRTUALBOX_NEEDS = { "7.2" => "2.4.9", "7.1" => "2.4.2" }.freeze
  # Vagrant picks a box's build for the host's CPU since 2.4.0 ("core: Add
  # architecture support"); an older one on Apple silicon fetches the amd64 box.
  ARM64_NEEDS = "2.4.0"
  INSTALL = "install the newest Vagrant from https://developer.hashicorp.com/vagrant/install, " \
            "then run the command again"

  # Stops Vagrant with one sentence when this host needs a newer Vagrant.
  def self.check!(root, argv = ARGV, vagrant_version = Vagrant::VERSION)
    problem = unmet(root, argv, vagrant_version)
    abort("lab requirements: #{problem}") if problem
  end

  # The sentence saying what is missing, or nil when this Vagrant will do.
  def self.unmet(root, argv, vagrant_version)
    have = Gem::Version.new(vagrant_version)
    if LabHost.arm64? && have < Gem::Version.new(ARM64_NEEDS)
      return "on an arm64 computer (Apple silicon) the lab needs Vagrant #{ARM64_NEEDS} or newer to get " \
             "the arm64 box, and this is Vagrant #{vagrant_version}: #{INSTALL}"
    end
    # A current Vagrant knows every VirtualBox this check knows: no VBoxManage to run.
    return nil if have >= Gem::Version.new(VIRTUALBOX_NEEDS.values.max_by { |v| Gem::Version.new(v) })
    return nil unless provider(root, argv) == "virtualbox"

    release = LabHost.virtualbox_version
    needed = release && VIRTUALBOX_NEEDS.find { |series, _| release.start_with?("#{series}.") }&.last
    return nil unless needed && have < Gem::Version.new(needed)

    "VirtualBox #{release[/\A[\d.]+/]} needs Vagrant #{needed} or newer, and this is Vagrant #{vagrant_version}: " \
      "#{INSTALL}"
  end

  # The provider this command will use, as Vagrant chooses it: `--provider`,
  # else the provider of the VM already created, else VAGRANT_DEFAULT_PROVIDER,
  # else the Vagrantfile's first, VirtualBox (Vagrant takes it when it is usable).
  def self.provider(root, argv)
    argv.each_with_index do |arg, i|
      return arg.split("=", 2)[1] if arg.start_with?("--provider=")
      return argv[i + 1].to_s if arg == "--provider"
    end
    # In name order, an id of white space alone counting as none: the same rule
    # as the checker's (lab/transports/vagrant.py), so both name one provider.
    machine = File.join(root, ".vagrant", "machines", "default")
    created = Dir.glob("*/id", base: machine).sort.find do |id|
      !File.read(File.join(machine, id)).strip.empty?
    end
    return File.dirname(created) if created

    default = ENV["VAGRANT_DEFAULT_PROVIDER"].to_s
    default.empty? ? "virtualbox" : default
  end
end
