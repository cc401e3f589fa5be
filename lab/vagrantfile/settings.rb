# Loads the lab VM's settings for the Vagrantfile: lab.default.yml, then the
# student's lab.yml, then LAB_<NAME> environment variables. A bad value stops
# Vagrant with one sentence saying which setting, where it came from, and why.
# It also names the VM after the lab folder, and writes the resolved settings
# to .lab/settings.json for the Python checker.
require "digest"
require "fileutils"
require "json"
require "yaml"

module LabSettings
  # name => [kind, check]; every setting must be listed here.
  KINDS = {
    "box" => [:string, ->(v) { v.match?(%r{\A[\w.-]+(/[\w.-]+)?\z}) || "a box name like bento/ubuntu-24.04" }],
    "box_version" => [:string, ->(v) { v.empty? || v.match?(/\A[\w.<>=~, -]+\z/) || "a version like 202404.26.0" }],
    "name" => [:string, ->(v) { v.match?(/\A[\w.-]+\z/) || "letters, digits, '.', '-' or '_'" }],
    "hostname" => [:string, ->(v) { v.match?(/\A[a-z0-9]([a-z0-9-]*[a-z0-9])?\z/) || "a host name like lab" }],
    "memory" => [:integer, ->(v) { v.between?(512, 65_536) || "between 512 and 65536 (MiB)" }],
    "cpus" => [:integer, ->(v) { v.between?(1, 64) || "between 1 and 64" }],
    "http_port" => [:integer, ->(v) { v.between?(1024, 65_535) || "a port number from 1024 to 65535" }],
    "https_port" => [:integer, ->(v) { v.between?(1024, 65_535) || "a port number from 1024 to 65535" }],
    "provider_driver" => [:string, ->(v) { %w[kvm qemu].include?(v) || "kvm or qemu" }],
    "libvirt_pool" => [:string, ->(v) { v.empty? || v.match?(/\A[\w.-]+\z/) || "a storage pool name" }],
    "guest_os" => [:string, ->(v) { v.empty? || %w[ubuntu debian].include?(v) || "ubuntu, debian or \"\"" }],
    "insert_key" => [:boolean, ->(_) { true }],
    "boot_timeout" => [:integer, ->(v) { v.between?(30, 3600) || "between 30 and 3600 (seconds)" }],
  }.freeze

  class Error < StandardError; end

  def self.load(root)
    default_file = File.join(root, "lab.default.yml")
    user_file = File.join(root, "lab.yml")
    FileUtils.cp(default_file, user_file) unless File.exist?(user_file)
    values = {}
    sources = {}
    defaults = read_yaml(default_file)
    [defaults, read_yaml(user_file)].zip([default_file, user_file]).each do |data, file|
      data.each do |key, value|
        values[key] = value
        sources[key] = File.basename(file)
      end
    end
    KINDS.each_key do |key|
      env = "LAB_#{key.upcase}"
      next unless ENV.key?(env)

      values[key] = ENV[env]
      sources[key] = "the environment variable #{env}"
    end
    unpin_other_box(values, defaults)
    check(values, sources)
  rescue Error => e
    abort("lab settings: #{e.message}")
  end

  # lab.default.yml pins a version of its own box; another box (LAB_BOX, or a
  # box set in lab.yml) has versions of its own, so that pin means nothing for it.
  def self.unpin_other_box(values, defaults)
    return if values["box"].to_s == defaults["box"].to_s
    return unless values["box_version"].to_s == defaults["box_version"].to_s

    values["box_version"] = ""
  end

  def self.read_yaml(file)
    data = YAML.safe_load(File.read(file), aliases: false) || {}
    raise Error, "#{File.basename(file)} must be a list of `name: value` lines" unless data.is_a?(Hash)

    unknown = data.keys - KINDS.keys
    unless unknown.empty?
      raise Error, "#{File.basename(file)} has unknown setting(s) #{unknown.join(', ')}; " \
                   "the settings are #{KINDS.keys.join(', ')}"
    end
    data
  rescue Psych::SyntaxError => e
    raise Error, "#{File.basename(file)} is not valid YAML (line #{e.line}): #{e.problem}"
  end

  def self.check(values, sources)
    KINDS.each_with_object({}) do |(key, (kind, rule)), settings|
      raise Error, "#{key} is missing from lab.default.yml" unless values.key?(key)

      value = convert(values[key], kind)
      verdict = value.nil? ? { integer: "a whole number", boolean: "true or false" }.fetch(kind) : rule.call(value)
      if verdict != true
        raise Error, "#{key} must be #{verdict}, got #{values[key].inspect} (from #{sources[key]})"
      end

      settings[key] = value
    end
  end

  # The VM's name in VirtualBox, Parallels or VMware: the `name` setting plus
  # a short hash of this lab folder's path, e.g. likes-lab-3f9a2c1b. Those
  # providers refuse a second VM of the same name, which a second clone or a
  # folder deleted without `vagrant destroy` would otherwise create.
  def self.vm_name(root, name)
    path = begin
      File.realpath(root)
    rescue SystemCallError
      File.expand_path(root)
    end
    # One folder must always give one name: macOS may spell "é" as two code
    # points, and Windows and macOS ignore case (PowerShell keeps the case the
    # student typed in `cd`). A path that isn't UTF-8 is hashed as bytes.
    text = path.dup.force_encoding(Encoding::UTF_8)
    text = text.valid_encoding? ? text.unicode_normalize(:nfc).downcase : text.b.downcase
    "#{name}-#{Digest::SHA256.hexdigest(text)[0, 8]}"
  end

  # Writes the settings as Vagrant resolved them (types converted) to
  # .lab/settings.json, with "vm_name", so the Python checker needn't parse
  # YAML itself and can't read `http_port: "8501"` differently.
  def self.save_resolved(root, settings, vm_name)
    folder = File.join(root, ".lab")
    file = File.join(folder, "settings.json")
    text = "#{JSON.pretty_generate(settings.merge('vm_name' => vm_name))}\n"
    # Unchanged content is not rewritten: every vagrant command loads the Vagrantfile.
    return if File.file?(file) && File.binread(file) == text

    FileUtils.mkdir_p(folder)
    # A reader sees the old file or the new one, never half of one.
    temp = File.join(folder, "settings.json.#{Process.pid}.tmp")
    File.binwrite(temp, text)
    File.rename(temp, file)
  rescue SystemCallError, IOError
    # A read-only folder, or a file the checker holds open on Windows: the
    # checker then falls back to the yml files, so Vagrant carries on without it.
    begin
      File.delete(temp) if temp
    rescue SystemCallError
      nil
    end
  end

  def self.convert(value, kind)
    text = value.to_s.strip
    case kind
    when :integer then text.match?(/\A\d+\z/) ? text.to_i : nil
    when :boolean
      return value if [true, false].include?(value)

      { "true" => true, "yes" => true, "1" => true, "false" => false, "no" => false, "0" => false }[text.downcase]
    else text
    end
  end
end
