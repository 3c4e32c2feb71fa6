/** The package name: the first part of every type token (wg-mesh:index:Mesh). */
export const PACKAGE_NAME = "wg-mesh";
