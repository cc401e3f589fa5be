# The host preflight that runs before `vagrant up` (a trigger in the Vagrantfile).
#
# It prints a box a student can paste into a forum question: what the host
# is, which Vagrant and provider versions it runs, and whether the usual
# obstacles are in the way. Only CRLF line endings stop `vagrant up`: they
# break every provisioning script in a way nobody recognises later.
require "etc"
require "socket"
require_relative "forwarded_ports"
require_relative "requirements"

class LabPreflight
  # Stops `vagrant up` with our own sentence instead of a Ruby backtrace.
  class Failed < Vagrant::Errors::VagrantError
    def initialize(text)
      @text = text
      super()
    end

    def error_message
      @text
    end
  end

  PROVISION_GLOBS = ["Vagrantfile", "provision/**/*.{sh,py,j2,service,conf}", "checks/**/*.toml"].freeze

  def initialize(root, settings, machine)
    @root = root
    @settings = settings
    @machine = machine
    @rows = []
    @problems = []
  end

  def run
    row("host", "#{RbConfig::CONFIG['host_os']} #{RbConfig::CONFIG['host_cpu']}, #{Etc.nprocessors} CPUs")
    row("vagrant", Vagrant::VERSION)
    check_provider
    check_box
    check_memory
    check_port("http_port", 80)
    check_port("https_port", 443)
    check_line_endings
    print_box
    return if @problems.empty?

    crlf = @problems.find { |p| p.start_with?("CRLF") }
    raise Failed, "lab preflight: #{crlf}" if crlf
  end

  private

  def row(name, value, verdict = nil)
    @rows << [name, value, verdict]
  end

  def print_box
    width = @rows.map { |name, value, _| name.length + value.length }.max + 12
    lines = ["+-- lab preflight " + "-" * [width - 17, 4].max]
    @rows.each do |name, value, verdict|
      mark = { ok: "[ok]", warn: "[!!]", bad: "[XX]" }.fetch(verdict, "    ")
      lines << format("| %-13s %-#{width - 22}s %s", name, value, mark)
    end
    @problems.each { |problem| lines << "| ! #{problem}" }
    lines << "+" + "-" * (lines.first.length - 1)
    @machine.ui.info(lines.join("\n"))
  end

  def provider_version(name)
    case name.to_s
    when "virtualbox" then LabHost.virtualbox_version
    when "libvirt"
      plugin = Gem::Specification.find { |spec| spec.name == "vagrant-libvirt" }
      libvirt = LabHost.command_version("virsh", "--version")
      plugin && libvirt ? "vagrant-libvirt #{plugin.version}, libvirt #{libvirt}" : nil
    when "parallels" then LabHost.command_version("prlctl", "--version")
    when /vmware/ then LabHost.command_version("vmrun", "-v")
    end
  end

  # No "provider not found" here: Vagrant asks the provider whether it is usable
  # (lib/vagrant/vagrantfile.rb, machine_config) before it makes the machine
  # whose `before :up` trigger runs this, and stops with its own message when it
  # isn't. So the provider is there; only its version may not be readable.
  def check_provider
    name = @machine.provider_name
    version = provider_version(name)
    row("provider", version ? "#{name} (#{version})" : "#{name} (version unknown)", version ? :ok : nil)
  end

  # The box build this VM needs: what to pass to `vagrant box add` (see the
  # Vagrantfile) when Vagrant says the box doesn't support the provider.
  def check_box
    version = @settings["box_version"].empty? ? "newest" : @settings["box_version"]
    row("box", "#{@settings['box']} #{version}, #{@machine.provider_name}/#{LabHost.box_architecture}")
  end

  def free_memory_mib
    if File.readable?("/proc/meminfo")
      kib = File.read("/proc/meminfo")[/^MemAvailable:\s+(\d+)/, 1]
      return kib.to_i / 1024 if kib
    end
    if RbConfig::CONFIG["host_os"] =~ /darwin/
      pages = IO.popen(%w[vm_stat], &:read).to_s
      page = pages[/page size of (\d+)/, 1].to_i
      free = %w[free inactive speculative].sum { |k| pages[/Pages #{k}:\s+(\d+)/, 1].to_i }
      return free * page / 1024 / 1024 if page.positive?
    end
    if Gem.win_platform?
      kib = IO.popen(%w[powershell -NoProfile -Command (Get-CimInstance Win32_OperatingSystem).FreePhysicalMemory],
                     &:read).to_s.strip
      return kib.to_i / 1024 if kib.match?(/\A\d+\z/)
    end
    nil
  rescue SystemCallError
    nil
  end

  def check_memory
    free = free_memory_mib
    wanted = @settings["memory"]
    if free.nil?
      row("free memory", "unknown (the VM needs #{wanted} MiB)")
    elsif free < wanted + 512
      row("free memory", "#{free} MiB, the VM needs #{wanted} MiB", :warn)
      @problems << "little free memory: close other programs, or lower `memory` in lab.yml"
    else
      row("free memory", "#{free} MiB, the VM needs #{wanted} MiB", :ok)
    end
  end

  # :free, :in_use, or :reserved: Windows refuses (EACCES) to bind the ranges of
  # ports that Hyper-V, WSL or Docker reserve, even when no program listens there.
  def port_state(port)
    TCPServer.new("127.0.0.1", port).close
    :free
  rescue Errno::EACCES
    :reserved
  rescue SystemCallError
    :in_use
  end

  # What the running VM forwards, asked once; nil if its provider can't say.
  def forwarded_ports
    @forwarded_ports = LabForwardedPort.of(@machine) unless defined?(@forwarded_ports)
    @forwarded_ports
  end

  def check_port(setting, guest_port)
    port = @settings[setting]
    host = forwarded_ports&.key(guest_port)
    if host == port
      row("port #{port}", "forwarded to the guest's port #{guest_port} by this VM", :ok)
    elsif host
      row("port #{port}", "not used: this VM forwards #{host} to the guest's port #{guest_port}", :warn)
      @problems << "port #{port} was taken when the VM started, so the guest's port #{guest_port} is at " \
                   "127.0.0.1:#{host}; `vagrant reload` tries #{port} again"
    elsif (state = port_state(port)) == :free
      row("port #{port}", "free (for the guest's port #{guest_port})", :ok)
    elsif state == :reserved
      # Vagrant's collision check only connects to the port, which nothing answers,
      # so it keeps the port and the provider fails to bind it.
      # Windows also says EACCES for a port a program holds with SO_EXCLUSIVEADDRUSE,
      # so the row names both; a reservation is the usual reason at these numbers.
      row("port #{port}", "refused: reserved by Windows (Hyper-V/WSL) or held exclusively", :bad)
      @problems << "port #{port} is refused, most likely reserved by Windows for Hyper-V/WSL (or held " \
                   "exclusively by another program), so the VM can't use it; list the " \
                   "reserved ranges with `netsh interface ipv4 show excludedportrange protocol=tcp` and set " \
                   "#{setting} in lab.yml to a port outside them"
    elsif @machine.state.id == :running
      # libvirt can't list its forwards (and never moves a port): most likely ours.
      row("port #{port}", "in use, by this VM if it is already running")
    else
      row("port #{port}", "in use by another program", :warn)
      @problems << "port #{port} is taken: Vagrant will forward another one (see `vagrant port`), " \
                   "or set #{setting} in lab.yml"
    end
  end

  def check_line_endings
    # base: keeps the lab folder's own name out of the pattern, where a "[" or
    # "{" in it (`lab [copy]`) would be read as a wildcard.
    files = Dir.glob(PROVISION_GLOBS, base: @root).select { |f| File.file?(File.join(@root, f)) }
    crlf = files.select { |f| File.binread(File.join(@root, f)).include?("\r\n") }
    if crlf.empty?
      row("line endings", "LF in #{files.length} provisioning files", :ok)
    else
      row("line endings", "CRLF in #{crlf.length} file(s)", :bad)
      @problems << "CRLF line endings in #{crlf.first(5).join(', ')}: they break scripts in the guest. " \
                   "Fix: run `git config --global core.autocrlf input`, then clone the lab again into a new folder"
    end
  end
end
