"""Reference solution of step 5: nginx serves /static/ from the shared folder itself."""

import grp

from guestconf import install_template, reload_nginx, record, run

# On VirtualBox, /vagrant belongs to the vagrant group and nginx's user
# www-data may not read it: let www-data into that group.
changed = False
if "www-data" not in grp.getgrnam("vagrant").gr_mem:
    run("usermod", "--append", "--groups", "vagrant", "www-data")
    record("added www-data to the group vagrant")
    changed = True
changed |= install_template("nginx/likes.conf.j2", "/etc/nginx/sites-available/likes", listen_port=80,
                            app_servers=["127.0.0.1:8080"], static_root="/vagrant/sample_app/static",
                            shared_folder=True)
if changed:
    reload_nginx()
